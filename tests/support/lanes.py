"""Two lanes, run side by side by ``make test`` (tests/run-all.sh): two pytest processes, one with
``--lane site`` and one with ``--lane nodes``; each runs its tests in collection order.

Tests that share state the lab holds once go in the same lane:

- ``site``: the lab's two site nodes (the site lifecycle, the secret scan, the site faults and
  Molecule ``default``, which replaces the nodes), and the lab cluster's Node list (the tests
  that register fixture Jetson nodes, and the test that reads that the lab made none). The
  site's Triton objects live on that cluster, so both kinds of test stay in one lane.
- ``nodes``: everything else; each of those tests brings its own node containers, its own
  Triton, MinIO buckets, ports and Kubernetes namespaces under names unique to the test.

A test file joins the site lane by being named in SITE_FILES; a Molecule scenario by being
named in SITE_SCENARIOS (also to balance the lanes: any scenario but ``default`` could run in
either). Without ``--lane`` every test runs, in one process.
"""

from __future__ import annotations

import pytest

LANES = ("site", "nodes")
SITE_FILES = frozenset(
    {
        "test_faults_site.py",
        "test_lab_k8s.py",
        "test_nfs_provisioner.py",
        "test_nvidia_gpu_role.py",
        "test_site_lifecycle.py",
        "test_site_security.py",
        "test_triton_role_k8s.py",
    }
)
# default shares the site nodes; jetson and triton bring their own nodes and run here to balance the
# lanes' times (make test prints each lane's time).
SITE_SCENARIOS = frozenset({"default", "jetson", "triton"})


def add_option(parser: pytest.Parser) -> None:
    parser.addoption("--lane", choices=LANES, help="run only the tests of one lane (tests/support/lanes.py)")


def lane_of(item: pytest.Item) -> str:
    """The lane of one collected test."""
    if item.path.name in SITE_FILES:
        return "site"
    callspec = getattr(item, "callspec", None)
    if item.path.name == "test_molecule.py" and callspec and callspec.params.get("scenario") in SITE_SCENARIOS:
        return "site"
    return "nodes"


def select(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Keep the tests of the lane given with --lane (all without it); report the others deselected."""
    lane = config.getoption("--lane")
    if not lane:
        return
    kept, dropped = [], []
    for item in items:
        (kept if lane_of(item) == lane else dropped).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept
