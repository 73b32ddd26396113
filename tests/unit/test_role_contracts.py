"""Every role's meta/argument_specs.yml covers every default, and variables are prefixed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from tests.labenv import REPO_ROOT

ROLES = sorted(p.name for p in (REPO_ROOT / "roles").iterdir() if p.is_dir())


def load(path: Path) -> dict:
    return yaml.safe_load(path.read_text()) or {} if path.exists() else {}


def test_there_are_roles():
    assert ROLES


@pytest.mark.parametrize("role", ROLES)
def test_argument_specs_match_defaults(role):
    base = REPO_ROOT / "roles" / role
    defaults = load(base / "defaults/main.yml")
    spec = load(base / "meta/argument_specs.yml")["argument_specs"]["main"]["options"]
    assert set(defaults) == set(spec), (
        f"only in defaults: {set(defaults) - set(spec)}; only in spec: {set(spec) - set(defaults)}"
    )
    for name, value in defaults.items():
        assert spec[name].get("default") == value, f"{role}: default of {name} differs from its spec"
        assert spec[name].get("description"), f"{role}: {name} has no description"


@pytest.mark.parametrize("role", ROLES)
def test_variables_are_tiered_by_prefix(role):
    base = REPO_ROOT / "roles" / role
    for name in load(base / "defaults/main.yml"):
        assert name.startswith(f"{role}_"), f"public variable {name} lacks prefix {role}_"
    for name in load(base / "vars/main.yml"):
        assert name.startswith(f"_{role}_"), f"internal variable {name} lacks prefix _{role}_"
    registered = re.compile(r"^\s*register:\s*(\S+)", re.MULTILINE)
    for task_file in (base / "tasks").glob("*.yml"):
        for name in registered.findall(task_file.read_text()):
            assert name.startswith(f"__{role}_"), f"{task_file.name}: registered {name} lacks prefix __{role}_"
