"""The tests' one Ansible runner (tests/support/ansible.py): the recap parser and the vars file."""

from __future__ import annotations

import json
import stat

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
