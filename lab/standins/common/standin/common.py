"""Shared pieces of the K3s and RKE2 stand-ins: logging in their (logrus) format, version, systemd notify,
processes."""

from __future__ import annotations

import contextlib
import ctypes
import datetime
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

STANDIN_DIR = Path(__file__).resolve().parent
PAYLOAD_DIR = STANDIN_DIR.parent
BIN_DIR = PAYLOAD_DIR / "bin"

INFO = json.loads((STANDIN_DIR / "VERSION.json").read_text()) if (STANDIN_DIR / "VERSION.json").exists() else {}
VERSION = INFO.get("version", "v0.0.0+k3s0")
COMMIT = INFO.get("commit", "00000000")
GO_VERSION = INFO.get("go", "go1.24.11")
K8S_VERSION = INFO.get("kubernetes", "")
# Marks the components a stand-in started (kill_leftovers finds them by it).
CHILD_MARK = "EDGEAI_STANDIN_CHILD"


class Fatal(Exception):
    """A fatal error: logged as level=fatal, exit status 1."""


def _quote(msg: str) -> str:
    # logrus quotes values with spaces or quotes Go-style; json.dumps is close enough.
    return json.dumps(msg, ensure_ascii=False)


def _now() -> str:
    stamp = datetime.datetime.now().astimezone().isoformat(timespec="seconds")
    return stamp.replace("+00:00", "Z")


def log(level: str, msg: str) -> None:
    sys.stderr.write(f"time={_quote(_now())} level={level} msg={_quote(msg)}\n")
    sys.stderr.flush()


def info(msg: str) -> None:
    log("info", msg)


def warn(msg: str) -> None:
    log("warning", msg)


def error(msg: str) -> None:
    log("error", msg)


def fatal(msg: str) -> None:
    log("fatal", msg)
    sys.exit(1)


def strict(msg: str) -> None:
    """A contract breach the real K3s or RKE2 would let pass (or punish later): refuse it now."""
    sys.stderr.write(f"stand-in strict: {msg}\n")
    sys.stderr.flush()
    sys.exit(1)


def sd_notify(state: str) -> bool:
    """Send a datagram to $NOTIFY_SOCKET (no python-systemd on the nodes)."""
    path = os.environ.get("NOTIFY_SOCKET", "")
    if not path:
        return False
    if path.startswith("@"):
        path = "\0" + path[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.connect(path)
        sock.sendall(state.encode())
    return True


# --- processes ---------------------------------------------------------------

_libc = None


def _set_pdeathsig() -> None:
    """Child dies with its parent, as K3s's in-process components die with K3s."""
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL("libc.so.6", use_errno=True)
    _libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class Child:
    """A control-plane component run from the payload's bin/, logging to a file."""

    def __init__(self, name: str, argv: list[str], logfile: Path, role: str, env: dict | None = None):
        self.name, self.argv, self.logfile, self.role = name, argv, logfile, role
        self.env = env
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.logfile.parent.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ, **(self.env or {}))
        env.pop("NOTIFY_SOCKET", None)
        env[CHILD_MARK] = self.role
        with open(self.logfile, "ab") as out:
            self.proc = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
                preexec_fn=_set_pdeathsig,
                close_fds=True,
            )

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.logfile.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self, timeout: float = 10) -> None:
        if not self.alive():
            return
        assert self.proc is not None
        self.proc.terminate()
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)


def _read(path: str) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError:
        return b""


def _is_main(pid: int, prefix: str, role: str) -> bool:
    """Whether pid is a stand-in main process (python3 .../standin/main.py <role>)."""
    cmdline = [a.decode(errors="replace") for a in _read(f"/proc/{pid}/cmdline").split(b"\0") if a]
    script = next((i for i, a in enumerate(cmdline) if a.endswith("/standin/main.py")), None)
    return script is not None and cmdline[script].startswith(prefix) and cmdline[script + 1 : script + 2] == [role]


def _ppid(pid: int) -> int:
    stat = _read(f"/proc/{pid}/stat").decode(errors="replace")
    try:
        return int(stat.rsplit(")", 1)[1].split()[1])
    except (IndexError, ValueError):
        return 0


def kill_leftovers(data_dir: Path, role: str) -> None:
    """Kill what an earlier run of this role left behind: components under <data-dir>/data/ whose
    stand-in main process is gone (KillMode=process keeps them when the main dies hard). A live
    run is left alone: its ports then make this start fail, as with K3s and RKE2."""
    prefix = str(data_dir / "data") + "/"
    victims = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        pid = int(entry)
        try:
            exe = os.readlink(f"/proc/{pid}/exe")
        except OSError:
            continue
        environ = _read(f"/proc/{pid}/environ").split(b"\0")
        if not (exe.startswith(prefix) and f"{CHILD_MARK}={role}".encode() in environ):
            continue
        if not _is_main(_ppid(pid), prefix, role):
            victims.append((pid, os.path.basename(exe)))
    for pid, name in victims:
        info(f"Killing leftover {name} process {pid} of a previous run")
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 10
    for pid, _name in victims:
        while time.monotonic() < deadline and Path(f"/proc/{pid}").exists():
            time.sleep(0.1)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def port_free(port: int, host: str = "0.0.0.0") -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


# --- node facts --------------------------------------------------------------


def hostname() -> str:
    return socket.gethostname().split(".")[0].lower()


def node_ipv4s() -> list[str]:
    """Every global IPv4 address of this node (iproute2, as K3s reads netlink)."""
    out = subprocess.run(
        ["ip", "-4", "-o", "addr", "show", "scope", "global"], capture_output=True, text=True, check=False
    )
    addrs = []
    for line in out.stdout.splitlines():
        parts = line.split()
        if "inet" in parts:
            addrs.append(parts[parts.index("inet") + 1].split("/")[0])
    return addrs


def default_ipv4() -> str:
    """The address of the default-route interface (K3s's default node-ip)."""
    out = subprocess.run(["ip", "-4", "route", "get", "1.1.1.1"], capture_output=True, text=True, check=False)
    parts = out.stdout.split()
    if "src" in parts:
        return parts[parts.index("src") + 1]
    addrs = node_ipv4s()
    return addrs[0] if addrs else "127.0.0.1"


def cpu_count() -> int:
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()
        if quota != "max":
            return max(1, int(int(quota) // int(period)))
    except (OSError, ValueError):
        pass
    return len(os.sched_getaffinity(0))


def memory_kib() -> int:
    total = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            total = int(line.split()[1])
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        if limit != "max":
            total = min(total, int(limit) // 1024)
    except (OSError, ValueError):
        pass
    return total


def machine_id() -> str:
    return Path("/etc/machine-id").read_text().strip() if Path("/etc/machine-id").exists() else ""


def os_image() -> str:
    for line in _read("/etc/os-release").decode().splitlines():
        if line.startswith("PRETTY_NAME="):
            return line.split("=", 1)[1].strip('"')
    return "Linux"


def arch() -> str:
    machine = os.uname().machine
    return {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm"}.get(machine, machine)
