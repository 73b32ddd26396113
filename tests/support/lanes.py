"""Two lanes, run side by side by ``make test`` (pytest-xdist, ``-n 2 --dist loadgroup``).

A lane is a sequence of tests that one worker runs in collection order. Tests that share
state the lab holds once go in the same lane:

- ``site``: the lab's two site nodes (the site lifecycle, the secret scan, the site faults and
  Molecule ``default``, which replaces the nodes), and the lab cluster's Node list (the tests
  that register fixture Jetson nodes, and the test that reads that the lab made none). The
  site's Triton objects live on that cluster, so both kinds of test stay in one lane.
- ``nodes``: everything else; each of those tests brings its own node containers, its own
  Triton, MinIO buckets, ports and Kubernetes namespaces under names unique to the test.

A test file joins the site lane by being named in SITE_FILES; a Molecule scenario by being
named in SITE_SCENARIOS.
"""

from __future__ import annotations

import pytest

SITE_FILES = frozenset(
    {
        "test_faults_site.py",
        "test_lab_k8s.py",
        "test_nfs_provisioner.py",
        "test_site_lifecycle.py",
        "test_site_security.py",
        "test_triton_role_k8s.py",
    }
)
SITE_SCENARIOS = frozenset({"default"})


def lane_of(item: pytest.Item) -> str:
    """The lane of one collected test."""
    if item.path.name in SITE_FILES:
        return "site"
    callspec = getattr(item, "callspec", None)
    if item.path.name == "test_molecule.py" and callspec and callspec.params.get("scenario") in SITE_SCENARIOS:
        return "site"
    return "nodes"


def assign(items: list[pytest.Item]) -> None:
    """Mark every test with its lane (pytest-xdist's loadgroup scheduler keeps a group on one worker)."""
    for item in items:
        item.add_marker(pytest.mark.xdist_group(lane_of(item)))
