"""Run the collection's playbooks against inventories/lab, the lab's site, as `make demo` does."""

from __future__ import annotations

import subprocess

import pytest

from tests.labenv import LAB_DIR
from tests.support import ansible, site
from tests.support.ansible import recap

__all__ = ["PLAYBOOK_CMD", "converge_site", "recap", "run_playbook", "site_env"]
SITE_INVENTORY = ["-i", "inventories/lab"]
PLAYBOOK_CMD = [ansible.PLAYBOOK_BIN, *SITE_INVENTORY]


def site_env() -> dict[str, str]:
    """The environment of a run: the lab's state directory, the repository's ansible.cfg, plain output."""
    return ansible.environment(EDGEAI_LAB_DIR=str(LAB_DIR))


def run_playbook(name: str, *extra: str) -> subprocess.CompletedProcess:
    """playbooks/<name> against the lab's site, output captured (tests/support/ansible.py)."""
    return ansible.run_playbook([*SITE_INVENTORY, f"playbooks/{name}", *extra], env=site_env())


def converge_site(lab: dict[str, str]) -> dict[str, str]:
    """The lab's site as site.yml makes it; fails the test when it cannot be had.

    Known converged (tests/support/site.py): verify.yml proves it still answers. Otherwise
    site.yml converges it (a no-op on a converged site), then verify.yml proves it."""
    if not lab.get("SITENODES"):
        pytest.fail("the lab's site nodes are not up: run make lab-up", pytrace=False)
    if not site.STATE.known_converged:
        first = run_playbook("site.yml")
        assert first.returncode == 0, first.stdout[-6000:]
    proof = run_playbook("verify.yml")
    assert proof.returncode == 0, proof.stdout[-4000:]
    site.converged()
    return lab
