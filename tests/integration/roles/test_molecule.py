"""Every Molecule scenario runs its full sequence on the lab's node image."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.labenv import REPO_ROOT
from tests.support import site

pytestmark = pytest.mark.lab
SCENARIOS = sorted(p.parent.name for p in (REPO_ROOT / "molecule").glob("*/molecule.yml"))


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_scenario(lab, scenario):
    if scenario == "default":
        site.forget()
    env = dict(os.environ, NODE_IMAGE=lab["NODE_IMAGE"], ANSIBLE_FORCE_COLOR="0", PY_COLORS="0")
    env["PATH"] = f"{REPO_ROOT / '.venv/bin'}:{env['PATH']}"
    result = subprocess.run(
        [str(Path(REPO_ROOT, ".venv/bin/molecule")), "test", "-s", scenario],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        # a guard against a hung scenario, not a speed check: k3s took 1010 s on a slow day
        timeout=1800,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-8000:]
    # every step of the sequence ran, idempotence (a second converge with no change) included
    for step in ("converge", "idempotence", "check", "verify"):
        assert f"{scenario} > {step}] Executed: Successful" in output, output[-4000:]
    if scenario == "default":
        # prepare replaced the site nodes; converge, idempotence and verify left the site converged
        site.converged()
