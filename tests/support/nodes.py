"""Systemd node containers of the lab's image: the one starter, with the docker run flags the lab
shares (lab/node-run-flags), and the docker helpers the tests use on them."""

from __future__ import annotations

import subprocess
import time
import uuid

from tests.labenv import REPO_ROOT


def node_run_flags() -> list[str]:
    """The flags in lab/node-run-flags, one per line (comments and blank lines skipped)."""
    text = (REPO_ROOT / "lab" / "node-run-flags").read_text()
    return [line for line in text.splitlines() if line and not line.startswith("#")]


def docker(*argv: str, check: bool = True, timeout: int = 600) -> subprocess.CompletedProcess:
    """Run a docker CLI command; output captured as text."""
    return subprocess.run(["docker", *argv], check=check, capture_output=True, text=True, timeout=timeout)


def node_path_exists(node: str, path: str) -> bool:
    """Whether ``path`` exists in the node container."""
    return docker("exec", node, "test", "-e", path, check=False).returncode == 0


def system_state(node: str, timeout: float = 90) -> str:
    """Poll systemd in a node container until it settles (running/degraded) or time runs out."""
    deadline = time.monotonic() + timeout
    state = ""
    while time.monotonic() < deadline:
        state = docker("exec", node, "systemctl", "is-system-running", check=False).stdout.strip()
        if state in ("running", "degraded"):
            break
        time.sleep(0.5)
    return state


def start_node(image: str, prefix: str = "node", *docker_args: str) -> str:
    """Start a systemd node container of the lab's image (named edgeai-test-<prefix>-<random>) with
    the lab's node flags and ``docker_args``; the caller removes it."""
    name = f"edgeai-test-{prefix}-{uuid.uuid4().hex[:8]}"
    docker("run", "-d", "--name", name, *node_run_flags(), *docker_args, image, "/sbin/init")
    return name
