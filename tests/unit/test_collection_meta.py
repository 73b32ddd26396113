"""What a Galaxy or AWX user installs with the collection: its declared collections, the Python
packages its plugins import, an execution environment that ansible-builder takes."""

from __future__ import annotations

import ast
import re
import subprocess
import sys

import yaml

from tests.labenv import REPO_ROOT

GALAXY = yaml.safe_load((REPO_ROOT / "galaxy.yml").read_text())
EE = yaml.safe_load((REPO_ROOT / "meta/execution-environment.yml").read_text())
FQCN = re.compile(r"\b([a-z_0-9]+)\.([a-z_0-9]+)\.[a-z_0-9]+\b")
# What the modules import by the name of the distribution that provides it.
DISTRIBUTION = {"google": "protobuf", "yaml": "pyyaml"}
# Collections named in the repository that a user of the collection does not need.
NOT_DEPENDENCIES = {"ansible.builtin", "edgeai.inference"}


def collections_used() -> set[str]:
    """Every collection a role or playbook names by FQCN (modules, filters, lookups)."""
    used = set()
    for top in ("roles", "playbooks"):
        for path in (REPO_ROOT / top).rglob("*.yml"):
            for line in path.read_text().splitlines():
                if line.lstrip().startswith("#"):
                    continue
                for namespace, name in FQCN.findall(line):
                    if f"{namespace}.{name}" in KNOWN:
                        used.add(f"{namespace}.{name}")
    return used - NOT_DEPENDENCIES


# The collections installed beside ansible-core (the venv's ansible package): an FQCN's first two
# parts name a collection only when one of these is it, not a dotted variable path.
KNOWN = {
    f"{p.parent.name}.{p.name}"
    for p in (REPO_ROOT / ".venv/lib").glob("python3*/site-packages/ansible_collections/*/*")
    if p.is_dir()
} | {"ansible.builtin", "edgeai.inference"}


def test_every_collection_the_roles_call_is_a_declared_dependency():
    used = collections_used()
    assert {"kubernetes.core", "community.crypto", "ansible.posix"} <= used, used
    assert used <= set(GALAXY["dependencies"]), used - set(GALAXY["dependencies"])
    ee = {c["name"] for c in EE["dependencies"]["galaxy"]["collections"]}
    assert set(GALAXY["dependencies"]) == ee, ee


def third_party_imports() -> dict[str, set[str]]:
    """Top-level names the plugins import that are neither the standard library nor Ansible."""
    found: dict[str, set[str]] = {}
    for path in (REPO_ROOT / "plugins").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top not in ("ansible", "ansible_collections", "__future__"):
                    found.setdefault(top, set()).add(path.relative_to(REPO_ROOT).as_posix())
    return found


def requirement_names() -> set[str]:
    lines = (REPO_ROOT / "meta/ee-requirements.txt").read_text().splitlines()
    return {re.split(r"[\[<>=!~ ]", line.strip())[0].lower() for line in lines if line.strip() and line[0] != "#"}


def test_every_python_import_of_the_plugins_is_an_ee_requirement():
    imports = third_party_imports()
    assert {"minio", "tritonclient", "numpy"} <= set(imports), imports
    missing = {top: files for top, files in imports.items() if DISTRIBUTION.get(top, top) not in requirement_names()}
    assert missing == {}, f"imported by the plugins but not in meta/ee-requirements.txt: {missing}"


def test_ansible_builder_creates_the_build_context(tmp_path):
    for name in ("execution-environment.yml", "ee-requirements.txt", "ee-bindep.txt"):
        (tmp_path / name).write_text((REPO_ROOT / "meta" / name).read_text())
    result = subprocess.run(
        [str(REPO_ROOT / ".venv/bin/ansible-builder"), "create", "-f", "execution-environment.yml", "-c", "context"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    build = tmp_path / "context" / "_build"
    assert "tritonclient[grpc,http]" in (build / "requirements.txt").read_text()
    galaxy = yaml.safe_load((build / "requirements.yml").read_text())
    assert {c["name"] for c in galaxy["collections"]} == set(GALAXY["dependencies"])
    assert (build / "bindep.txt").read_text() == (REPO_ROOT / "meta/ee-bindep.txt").read_text()


def test_galaxy_metadata_has_no_placeholder_and_ships_a_license():
    text = (REPO_ROOT / "galaxy.yml").read_text()
    assert "example.invalid" not in text and "example.com" not in text
    assert GALAXY["license"] == ["GPL-3.0-or-later"]
    assert "GNU GENERAL PUBLIC LICENSE" in (REPO_ROOT / "LICENSE").read_text()[:200]
