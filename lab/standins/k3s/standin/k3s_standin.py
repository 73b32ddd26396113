"""The edgeai lab's K3s stand-in (not K3s): entry point the self-extracting ``k3s`` file execs.

Dispatches like the real multi-call binary: on the name it was invoked as (kubectl, crictl, ctr
symlinks) or on the subcommand (server, agent, kubectl, ...).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import config
from common import BIN_DIR, Fatal, log

APP_HELP = """NAME:
   k3s - Kubernetes, but small and simple (edgeai lab stand-in)

USAGE:
   k3s [global options] command [command options] [arguments...]

COMMANDS:
   server           Run management server
   agent            Run node agent
   kubectl          Run kubectl
   crictl           Run crictl (not simulated by the stand-in)
   ctr              Run ctr (not simulated by the stand-in)
   token            Manage tokens (not simulated by the stand-in)
   etcd-snapshot    Manage etcd snapshots (not simulated by the stand-in)
   secrets-encrypt  Control secrets encryption (not simulated by the stand-in)
   certificate      Manage K3s certificates (not simulated by the stand-in)
   help, h          Shows a list of commands or help for one command

GLOBAL OPTIONS:
   --debug        (logging) Turn on debug logs [$K3S_DEBUG]
   --help, -h     show help
   --version, -v  print the version
"""


def kubectl(args: list[str]) -> None:
    env = dict(os.environ)
    explicit = any(a == "--kubeconfig" or a.startswith("--kubeconfig=") for a in args)
    default = Path("/etc/rancher/k3s/k3s.yaml")
    if not explicit and not env.get("KUBECONFIG") and default.exists() and os.access(default, os.R_OK):
        env["KUBECONFIG"] = str(default)
    binary = BIN_DIR / "kubectl"
    if not binary.exists():
        sys.stderr.write("kubectl: not bundled in this stand-in build\n")
        sys.exit(1)
    os.execve(str(binary), ["kubectl", *args], env)


def not_simulated(name: str) -> None:
    sys.stderr.write(
        f"{name}: not simulated by the edgeai lab K3s stand-in (no container runtime runs; kwok plays the kubelet)\n"
    )
    sys.exit(1)


def main() -> None:
    invoked = os.path.basename(os.environ.pop("K3S_STANDIN_ARGV0", "k3s"))
    os.environ.pop("K3S_STANDIN_DATA", None)
    args = sys.argv[1:]
    if invoked == "kubectl":
        return kubectl(args)
    if invoked in ("crictl", "ctr"):
        return not_simulated(invoked)
    while args and args[0] == "--debug":
        args = args[1:]
    if not args or args[0] in ("-h", "--help", "help", "h"):
        sys.stdout.write(APP_HELP)
        return None
    if args[0] in ("--version", "-v"):
        sys.stdout.write(config.version_text())
        return None
    command = args[0]
    if command == "kubectl":
        return kubectl(args[1:])
    if command in ("crictl", "ctr", "token", "etcd-snapshot", "secrets-encrypt", "certificate", "check-config"):
        return not_simulated(f"k3s {command}")
    if command not in ("server", "agent"):
        sys.stdout.write(f"No help topic for '{command}'\n")
        sys.exit(3)
    try:
        parsed = config.parse(args)
    except config.UsageError as exc:
        config.incorrect_usage(command, str(exc))
    try:
        if command == "server":
            import server

            server.run(parsed)
        else:
            import agent

            agent.run(parsed)
    except Fatal as exc:
        log("fatal", str(exc))
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(0)
    return None


if __name__ == "__main__":
    main()
