"""The order of the plays site.yml runs, read from the playbooks themselves (imports followed).

A role whose preflight checks for a tool another role installs must run after it: on a fresh
Jetson of an NFS site, the jetson role's preflight looks for mount.nfs, which nfs_client installs.
"""

from __future__ import annotations

from pathlib import Path

import yaml

PLAYBOOKS = Path(__file__).resolve().parents[2] / "playbooks"


def plays(playbook: str) -> list[dict]:
    """Every play of a playbook, in run order, with import_playbook followed."""
    out = []
    for entry in yaml.safe_load((PLAYBOOKS / playbook).read_text()):
        imported = entry.get("ansible.builtin.import_playbook")
        if imported:
            out.extend(plays(imported))
        else:
            out.append(entry)
    return out


def roles_of(play: dict) -> list[str]:
    return [(r["role"] if isinstance(r, dict) else r).rsplit(".", 1)[-1] for r in play.get("roles", [])]


def first_play_with(all_plays: list[dict], role: str) -> int:
    return next(i for i, play in enumerate(all_plays) if role in roles_of(play))


def test_nfs_client_runs_before_the_jetson_role_checks_for_mount_nfs():
    jetson_preflight = (PLAYBOOKS.parent / "roles/jetson/tasks/preflight.yml").read_text()
    assert "mount.nfs" in jetson_preflight, "the jetson preflight no longer checks mount.nfs: update this test"
    site = plays("site.yml")
    nfs_client, jetson = first_play_with(site, "nfs_client"), first_play_with(site, "jetson")
    assert nfs_client < jetson, f"nfs_client (play {nfs_client}) must run before jetson (play {jetson})"
    assert "jetson" in site[nfs_client]["hosts"].split(":")


def test_the_nfs_client_play_runs_once_in_the_site():
    site = plays("site.yml")
    assert sum("nfs_client" in roles_of(play) for play in site) == 1
