"""The edgeai lab's K3s and RKE2 stand-ins (not K3s, not RKE2): the entry point the self-extracting
``k3s`` / ``rke2`` file execs.

Dispatches like the real binary: K3s is multi-call (on the name it was invoked as: kubectl, crictl,
ctr symlinks; or the subcommand: server, agent, kubectl, ...), RKE2 knows only its subcommands.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import config
from common import BIN_DIR, Fatal, log
from flavour import FLAVOUR

NOT_SIMULATED = "not simulated by the stand-in"
USAGES = {
    "server": "Run management server",
    "agent": "Run node agent",
    "kubectl": "Run kubectl",
    "crictl": f"Run crictl ({NOT_SIMULATED})",
    "ctr": f"Run ctr ({NOT_SIMULATED})",
    "token": f"Manage tokens ({NOT_SIMULATED})",
    "etcd-snapshot": f"Manage etcd snapshots ({NOT_SIMULATED})",
    "secrets-encrypt": f"Control secrets encryption ({NOT_SIMULATED})",
    "certificate": f"Manage {FLAVOUR.display} certificates ({NOT_SIMULATED})",
    "completion": f"Install shell completion script ({NOT_SIMULATED})",
}


def app_help() -> str:
    name = FLAVOUR.name
    commands = ["server", "agent", *(["kubectl"] if FLAVOUR.multicall else []), *FLAVOUR.commands]
    listed = "".join(f"   {c:<16} {USAGES[c]}\n" for c in commands if c in USAGES)
    return (
        f"NAME:\n   {name} - {FLAVOUR.description} (edgeai lab stand-in)\n\n"
        f"USAGE:\n   {name} [global options] command [command options] [arguments...]\n\n"
        f"COMMANDS:\n{listed}   help, h          Shows a list of commands or help for one command\n\n"
        "GLOBAL OPTIONS:\n"
        f"   --debug        (logging) Turn on debug logs [${FLAVOUR.env}DEBUG]\n"
        "   --help, -h     show help\n"
        "   --version, -v  print the version\n"
    )


def kubectl(args: list[str]) -> None:
    env = dict(os.environ)
    explicit = any(a == "--kubeconfig" or a.startswith("--kubeconfig=") for a in args)
    default = Path(FLAVOUR.kubeconfig)
    if not explicit and not env.get("KUBECONFIG") and default.exists() and os.access(default, os.R_OK):
        env["KUBECONFIG"] = str(default)
    binary = BIN_DIR / "kubectl"
    if not binary.exists():
        sys.stderr.write("kubectl: not bundled in this stand-in build\n")
        sys.exit(1)
    os.execve(str(binary), ["kubectl", *args], env)


def not_simulated(name: str) -> None:
    sys.stderr.write(
        f"{name}: not simulated by the edgeai lab {FLAVOUR.display} stand-in "
        "(no container runtime runs; kwok plays the kubelet)\n"
    )
    sys.exit(1)


def main() -> None:
    invoked = os.path.basename(os.environ.pop("STANDIN_ARGV0", FLAVOUR.name))
    os.environ.pop("STANDIN_DATA", None)
    args = sys.argv[1:]
    if FLAVOUR.multicall and invoked == "kubectl":
        return kubectl(args)
    if FLAVOUR.multicall and invoked in ("crictl", "ctr"):
        return not_simulated(invoked)
    while args and args[0] == "--debug":
        args = args[1:]
    if not args or args[0] in ("-h", "--help", "help", "h"):
        sys.stdout.write(app_help())
        return None
    if args[0] in ("--version", "-v"):
        sys.stdout.write(config.version_text())
        return None
    command = args[0]
    if FLAVOUR.multicall and command == "kubectl":
        return kubectl(args[1:])
    if command in FLAVOUR.commands:
        return not_simulated(f"{FLAVOUR.name} {command}")
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
