"""node_base preflight refuses an unsupported node before changing anything."""

from __future__ import annotations

import pytest

from tests.labenv import REPO_ROOT
from tests.support import ansible
from tests.support.nodes import docker

pytestmark = pytest.mark.lab


def test_unsupported_architecture_is_refused_with_the_fix(node_factory, tmp_path):
    name = node_factory("preflight")
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(f"all:\n  hosts:\n    {name}:\n      ansible_connection: community.docker.docker\n")
    env = ansible.environment()
    argv = ["-i", str(inventory), str(REPO_ROOT / "molecule/node_base/preflight-refusal.yml")]
    result = ansible.run_playbook(argv, env=env, timeout=300)
    out = result.stdout + result.stderr
    assert result.returncode != 0, out
    assert "node_base_supported_architectures" in out, out
    assert "x86_64" in out, out
    # nothing was written: the fact file only comes after preflight
    assert docker("exec", name, "test", "-e", "/etc/ansible/facts.d/edgeai.fact", check=False).returncode == 1
