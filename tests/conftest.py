"""Shared fixtures: the lab's published endpoints and a few real-service helpers."""

from __future__ import annotations

import subprocess
import time
import uuid

import pytest

from tests.labenv import LabNotUp, lab_env
from tests.support import lanes, site
from tests.support.nodes import node_run_flags


def pytest_addoption(parser):
    lanes.add_option(parser)


def pytest_collection_modifyitems(config, items):
    lanes.select(config, items)
    site.order(items)


def pytest_runtest_logreport(report):
    """A failed test may have left the lab's site half-changed: the next site-level test converges it."""
    if report.failed:
        site.forget()


@pytest.fixture(scope="session")
def lab() -> dict[str, str]:
    """The running lab's published values; a missing lab fails loudly."""
    try:
        return lab_env()
    except LabNotUp as exc:
        pytest.fail(str(exc), pytrace=False)


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


@pytest.fixture
def node_factory(lab):
    """Start systemd node containers of the lab's image; all removed at teardown."""
    started: list[str] = []

    def start(prefix: str = "node", *docker_args: str) -> str:
        started.append(start_node(lab["NODE_IMAGE"], prefix, *docker_args))
        return started[-1]

    yield start
    for name in started:
        docker("rm", "-f", name, check=False)
