"""The tests' one Ansible runner (tests/support/ansible.py): the recap parser and the vars file."""

from __future__ import annotations

import json
import stat
import subprocess
import sys

import pytest

from tests.support import ansible
from tests.support.ansible import Recap, recap, vars_file

OUTPUT = """PLAY RECAP *********************************************************************
edgeai-lab-minio           : ok=57   changed=1    unreachable=0    failed=0    skipped=16   rescued=0    ignored=0
localhost                  : ok=44   changed=0    unreachable=1    failed=2    skipped=54   rescued=0    ignored=0
"""


def test_recap_reads_every_host_with_its_counts():
    assert recap(OUTPUT) == {
        "edgeai-lab-minio": Recap(ok=57, changed=1, unreachable=0, failed=0, skipped=16),
        "localhost": Recap(ok=44, changed=0, unreachable=1, failed=2, skipped=54),
    }
    assert recap("no recap here") == {}


def test_the_last_recap_wins_when_a_run_prints_several():
    later = OUTPUT.replace("changed=1 ", "changed=0 ")
    assert recap(OUTPUT + later)["edgeai-lab-minio"].changed == 0


def test_variables_go_to_a_file_only_its_owner_reads(tmp_path):
    path = vars_file({"secret_key": "s3cr3t-value"}, tmp_path)
    try:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert json.loads(path.read_text()) == {"secret_key": "s3cr3t-value"}
    finally:
        path.unlink()


def test_a_module_run_with_the_json_configuration_gives_its_report():
    """A real ad hoc run of a collection module on this machine (dpkg is here), through the one
    environment and the one generated configuration, parsed by json_report."""
    env = ansible.environment(json_output=True)
    assert env["ANSIBLE_CONFIG"] == str(ansible.JSON_CONFIG)
    assert env["PATH"].split(":")[0].endswith(".venv/bin")
    argv = ansible.module_argv(
        "deb_packages_info", {"name": ["dpkg", "edgeai-no-such-package"]}, interpreter=sys.executable
    )
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120, check=False)
    result = ansible.json_report(proc)["plays"][0]["tasks"][0]["hosts"]["localhost"]
    assert result["missing"] == ["edgeai-no-such-package"], result


def test_a_run_that_prints_no_json_names_its_exit_status():
    proc = subprocess.CompletedProcess(["ansible"], 4, stdout="ERROR! no inventory", stderr="boom")
    with pytest.raises(ansible.NoJsonReport, match=r"(?s)rc 4\).*no inventory"):
        ansible.json_report(proc)
