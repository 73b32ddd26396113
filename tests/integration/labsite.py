"""Run the collection's playbooks against inventories/lab, the lab's site, as `make demo` does."""

from __future__ import annotations

import os
import subprocess

from tests.labenv import LAB_DIR, REPO_ROOT

PLAYBOOK_CMD = [str(REPO_ROOT / ".venv/bin/ansible-playbook"), "-i", "inventories/lab"]


def site_env() -> dict[str, str]:
    """The environment of a run: the lab's state directory, the repository's ansible.cfg, plain output."""
    env = dict(os.environ, EDGEAI_LAB_DIR=str(LAB_DIR), ANSIBLE_CONFIG=str(REPO_ROOT / "ansible.cfg"))
    env["ANSIBLE_NOCOLOR"] = "1"
    env["PATH"] = f"{REPO_ROOT / '.venv/bin'}:{env['PATH']}"
    return env


def run_playbook(name: str, *extra: str) -> subprocess.CompletedProcess:
    """playbooks/<name> against the lab's site, output captured."""
    return subprocess.run(
        [*PLAYBOOK_CMD, f"playbooks/{name}", *extra],
        cwd=REPO_ROOT,
        env=site_env(),
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
