"""Read what the running lab publishes: every ``$LAB_DIR/env.d/*.env`` file."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
LAB_DIR = Path(os.environ.get("EDGEAI_LAB_DIR", REPO_ROOT / ".lab"))


class LabNotUp(RuntimeError):
    """The lab's state directory is missing: the lab was never brought up."""


def read_env_file(path: str | Path) -> dict[str, str]:
    """Parse a KEY=VALUE file (an env.d file, the MinIO root credentials); # starts a comment."""
    values: dict[str, str] = {}
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        key, sep, value = line.strip().partition("=")
        if sep and key and not key.startswith("#"):
            values[key.strip()] = value.strip()
    return values


def lab_env() -> dict[str, str]:
    """Return the KEY=VALUE pairs published by every lab part."""
    env_dir = LAB_DIR / "env.d"
    files = sorted(env_dir.glob("*.env")) if env_dir.is_dir() else []
    if not files:
        raise LabNotUp(f"lab is not up ({env_dir} has no *.env): run make lab-up")
    values: dict[str, str] = {}
    for path in files:
        values.update(read_env_file(path))
    return values
