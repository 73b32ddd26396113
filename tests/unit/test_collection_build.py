"""The collection builds from the repository root; the tarball holds no lab, tests or molecule."""

from __future__ import annotations

import subprocess
import tarfile

from tests.labenv import REPO_ROOT


def test_build_excludes_dev_trees(tmp_path):
    subprocess.run(
        [
            str(REPO_ROOT / ".venv/bin/ansible-galaxy"),
            "collection",
            "build",
            "--output-path",
            str(tmp_path),
            str(REPO_ROOT),
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    )
    (tarball,) = tmp_path.glob("edgeai-inference-*.tar.gz")
    with tarfile.open(tarball) as archive:
        names = archive.getnames()
    tops = {n.split("/")[0] for n in names}
    assert {"MANIFEST.json", "FILES.json", "roles", "meta", "README.md"} <= tops
    assert not tops & {"molecule", "tests", "lab", ".lab", ".venv", ".collections", "bench"}, tops
    assert "roles/node_base/meta/argument_specs.yml" in names
    # the lab's own inventory and the development pages stay in the repository; the real sites ship
    assert not [n for n in names if n.startswith("inventories/lab/") or n in {"docs/lab.md", "docs/performance.md"}]
    assert {"inventories/jetson-mate/hosts.yml", "inventories/x86-rke2/hosts.yml"} <= set(names)
    # what a Galaxy or AWX user gets: the license, the execution environment and its requirements
    assert {"LICENSE", "meta/execution-environment.yml", "meta/ee-requirements.txt", "meta/ee-bindep.txt"} <= set(names)
