"""Shared fixtures: the lab's published endpoints and node containers (helpers: tests/support/nodes.py)."""

from __future__ import annotations

import pytest

from tests.labenv import LabNotUp, lab_env
from tests.support import lanes, site
from tests.support.nodes import docker, start_node


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
