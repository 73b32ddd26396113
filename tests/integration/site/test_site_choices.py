"""The site's choices are checked before any host is touched (playbooks/choices.yml).

A typo in a choice (``edgeai_model_store: minoi``) used to skip the plays that choice selects,
silently. Each entry playbook now imports choices.yml first: the run fails on the controller,
naming the variable, the value and the choices, and no host of the inventory is contacted
(the recap holds localhost only). Every shipped inventory's choices pass. Nothing here needs
the lab: the runs stop before the first host play.
"""

from __future__ import annotations

import subprocess

import pytest

from tests.integration.labsite import recap, site_env
from tests.support import ansible


def run(inventory: str, playbook: str, *extra: str) -> subprocess.CompletedProcess:
    argv = ["-i", f"inventories/{inventory}", f"playbooks/{playbook}", *extra]
    return ansible.run_playbook(argv, env=site_env(), timeout=300)


WRONG = [
    ("site.yml", "edgeai_model_store=minoi", "value of edgeai_model_store must be one of: nfs, minio, got: minoi"),
    (
        "site.yml",
        '{"edgeai_triton_targets": ["kubernetes", "gpu"]}',
        "edgeai_triton_targets must be one or more of: kubernetes, host",
    ),
    ("upgrade.yml", "edgeai_upgrade_precheck=perhaps", "edgeai_upgrade_precheck"),
    ("reset.yml", "edgeai_reset_k3s=sometimes", "edgeai_reset_k3s"),
    ("verify.yml", "edgeai_verify_timeout=soon", "edgeai_verify_timeout"),
]


@pytest.mark.parametrize(("playbook", "extra", "said"), WRONG, ids=[f"{w[0]}:{w[1][:24]}" for w in WRONG])
def test_a_wrong_choice_fails_on_the_controller_naming_it(playbook, extra, said):
    result = run("lab", playbook, "-e", extra, "-e", "edgeai_reset_confirm=yes")
    output = result.stdout + result.stderr
    assert result.returncode == 2, output[-3000:]
    assert "Site choice: " in output and said in output, output[-3000:]
    assert "group_vars/all.yml" in output and "inventories/lab" in output, output[-3000:]
    # the lab's node containers were never contacted: the only host in the recap is the controller
    assert set(recap(output)) == {"localhost"}, output[-3000:]


@pytest.mark.parametrize("inventory", ["lab", "jetson-mate", "x86-rke2"])
def test_every_shipped_inventorys_choices_pass(inventory):
    result = run(inventory, "choices.yml")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    assert recap(output)["localhost"][3] == 0, output[-3000:]
