"""nfs_server_state absent on a real node, for both servers: check mode predicts, the export is
withdrawn, the data stays unless purged, and a re-run changes nothing.

The node is a fresh systemd container of the lab's image, converged with the role first.
NFS-Ganesha runs for real (as in Molecule `nfs`, with the export on a bind-mounted host
directory); the kernel server is configured but not started (this kernel has no nfsd), so
there the export table exportfs loaded is what shows the export and its withdrawal.
"""

from __future__ import annotations

import pytest

from tests.integration.labsite import recap
from tests.support import ansible
from tests.support.nodes import docker, node_path_exists, system_state

pytestmark = pytest.mark.lab

EXPORT = "/srv/nfs/models"
PLAYBOOK = """- name: nfs_server
  hosts: all
  become: true
  gather_facts: true
  roles:
    - role: edgeai.inference.nfs_server
"""


def converge(node: str, work, *flags: str, **role_vars) -> tuple[int, int, str]:
    """The role on ``node`` with ``role_vars``: (rc, changed tasks, output)."""
    (work / "play.yml").write_text(PLAYBOOK)
    (work / "hosts.yml").write_text(
        f"all:\n  hosts:\n    {node}:\n      ansible_connection: community.docker.docker\n"
        "      ansible_python_interpreter: /usr/bin/python3\n"
    )
    env = ansible.environment()
    argv = ["-i", str(work / "hosts.yml"), str(work / "play.yml"), *flags]
    proc = ansible.run_playbook(argv, env=env, variables=role_vars, timeout=900)
    output = proc.stdout + proc.stderr
    summary = recap(proc.stdout)
    assert node in summary, output[-4000:]
    return proc.returncode, summary[node][1], output


@pytest.mark.timeout(1200)
@pytest.mark.parametrize("implementation", ["kernel", "ganesha"])
def test_absent_withdraws_the_export_and_purge_removes_the_directory(node_factory, tmp_path, implementation):
    settings = {"nfs_server_implementation": implementation, "nfs_server_export_clients": [{"host": "192.0.2.0/24"}]}
    if implementation == "kernel":
        node = node_factory("nfs-absent")
        settings["nfs_server_start_service"] = False
    else:
        share = tmp_path / "share"
        share.mkdir()
        node = node_factory(
            "nfs-absent",
            "-v",
            f"{share}:/srv/nfs",
            "--cap-add",
            "SYS_ADMIN",
            "--cap-add",
            "DAC_READ_SEARCH",
            "--security-opt",
            "seccomp=unconfined",
        )
        settings["nfs_server_ganesha_grace_period"] = 10
        settings["nfs_server_ganesha_lease_lifetime"] = 10
    assert system_state(node) in ("running", "degraded")
    work = tmp_path / "work"
    work.mkdir()

    rc, first, out = converge(node, work, **settings)
    assert rc == 0 and first >= 1, out[-4000:]
    docker("exec", node, "touch", f"{EXPORT}/model.onnx")
    if implementation == "kernel":
        assert EXPORT in docker("exec", node, "cat", "/var/lib/nfs/etab").stdout
    else:
        assert docker("exec", node, "systemctl", "is-active", "nfs-ganesha", check=False).stdout.strip() == "active"

    rc, predicted, check_out = converge(node, work, "--check", "--diff", nfs_server_state="absent", **settings)
    assert rc == 0 and predicted >= 1, check_out[-4000:]
    rc, done, out = converge(node, work, nfs_server_state="absent", **settings)
    # check mode lists the kernel server's exportfs handler as notified; a command does not run
    # there, so the real run counts it as one more change
    handler = "RUNNING HANDLER [edgeai.inference.nfs_server : Nfs_server | Re-export with exportfs]"
    if implementation == "kernel":
        assert rc == 0 and done == predicted + 1 and handler in check_out, (predicted, done, out[-4000:])
    else:
        assert rc == 0 and done == predicted and handler not in out, (predicted, done, out[-4000:])
    if implementation == "kernel":
        assert not node_path_exists(node, "/etc/exports.d/edgeai.exports")
        assert EXPORT not in docker("exec", node, "cat", "/var/lib/nfs/etab").stdout
    else:
        for query in ("is-active", "is-enabled"):
            state = docker("exec", node, "systemctl", query, "nfs-ganesha", check=False).stdout.strip()
            assert state in ("inactive", "disabled"), (query, state)
        assert not node_path_exists(node, "/etc/ganesha/edgeai-exports.conf")
    assert node_path_exists(node, f"{EXPORT}/model.onnx"), "the models went without nfs_server_purge"

    rc, again, out = converge(node, work, nfs_server_state="absent", **settings)
    assert rc == 0 and again == 0, out[-4000:]

    rc, purged, out = converge(node, work, nfs_server_state="absent", nfs_server_purge=True, **settings)
    assert rc == 0 and purged == 1, out[-4000:]
    assert not node_path_exists(node, EXPORT)
