"""TLS verification stays on everywhere outside the tests that prove a refusal.

No role, playbook, inventory, lab script, module or template turns certificate
checks off: no `--insecure`, no `validate_certs: false`, no `verify=False`, no
`curl -k`. (The modules keep a `validate_certs` option, defaulting to true, as
Ansible's own modules do; nothing in the collection passes false.)
"""

from __future__ import annotations

import re

import pytest

from tests.labenv import REPO_ROOT

SCANNED = ("roles", "playbooks", "inventories", "lab", "molecule", "plugins", "bench", ".config")
OFF = re.compile(
    r"--insecure\b|validate_certs\s*[:=]\s*(false|no|False)\b|verify\s*=\s*False\b|\bcurl\b[^\n]*\s-k\b"
    r"|CERT_NONE\b(?!\")|check_hostname\s*=\s*False"
)
# Where the collection's clients map validate_certs=false to the TLS library (the option itself).
OPTION_PLUMBING = {
    "plugins/module_utils/minio/client.py",
    "plugins/module_utils/model_repository/s3_client.py",
    "plugins/module_utils/triton/client.py",
    "plugins/module_utils/triton/inference.py",
    "plugins/modules/triton_inference_check.py",
}


def scanned_files():
    for top in SCANNED:
        for path in sorted((REPO_ROOT / top).rglob("*")):
            if path.is_file() and path.suffix in (".py", ".yml", ".yaml", ".sh", ".j2", ".cfg", ".env"):
                yield path


def test_the_scan_covers_the_collection():
    names = {p.relative_to(REPO_ROOT).as_posix() for p in scanned_files()}
    assert "roles/minio/tasks/provision.yml" in names and "lab/parts/minio.sh" in names
    assert len(names) > 100


# The option's plumbing maps validate_certs to the TLS library; its default is checked below.
CHECKED = [p for p in scanned_files() if p.relative_to(REPO_ROOT).as_posix() not in OPTION_PLUMBING]


@pytest.mark.parametrize("path", CHECKED, ids=lambda p: p.relative_to(REPO_ROOT).as_posix())
def test_no_certificate_check_is_turned_off(path):
    rel = path.relative_to(REPO_ROOT).as_posix()
    hits = [line.strip() for line in path.read_text(errors="replace").splitlines() if OFF.search(line)]
    assert hits == [], f"{rel} turns TLS verification off: {hits}"


def test_every_validate_certs_option_defaults_to_true():
    specs = re.compile(r'"validate_certs":\s*\{[^}]*\}')
    found = []
    for path in sorted((REPO_ROOT / "plugins").rglob("*.py")):
        for spec in specs.findall(path.read_text()):
            found.append(path.name)
            assert '"default": True' in spec, f"{path.name}: {spec}"
    assert found, "no validate_certs option found: the pattern is stale"
