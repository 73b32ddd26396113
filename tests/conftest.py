"""Shared fixtures: the lab's published endpoints and a few real-service helpers."""

from __future__ import annotations

import pytest

from tests.labenv import LabNotUp, lab_env


@pytest.fixture(scope="session")
def lab() -> dict[str, str]:
    """The running lab's published values; a missing lab fails loudly."""
    try:
        return lab_env()
    except LabNotUp as exc:
        pytest.fail(str(exc), pytrace=False)


def read_env_file(path: str) -> dict[str, str]:
    """Parse a KEY=VALUE file (such as the MinIO root credentials)."""
    values: dict[str, str] = {}
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            key, sep, value = line.strip().partition("=")
            if sep and not key.startswith("#"):
                values[key] = value
    return values
