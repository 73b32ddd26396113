"""One way to run Ansible from the tests and benchmarks: a playbook, its variables in a 0600 file
(never in argv, where secrets would show in the process list), and the play recap parsed once."""

from __future__ import annotations

import json
import os
import re
import subprocess
import tempfile
from pathlib import Path
from typing import Any, NamedTuple

from tests.labenv import REPO_ROOT

PLAYBOOK_BIN = str(REPO_ROOT / ".venv/bin/ansible-playbook")
RECAP_LINE = re.compile(
    r"^(\S+)\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)(?:\s+skipped=(\d+))?", re.M
)


class Recap(NamedTuple):
    """One host's line of the PLAY RECAP."""

    ok: int
    changed: int
    unreachable: int
    failed: int
    skipped: int


def recap(output: str) -> dict[str, Recap]:
    """The play recap per host (the last recap when the output holds several)."""
    return {m[0]: Recap(*(int(x or 0) for x in m[1:])) for m in RECAP_LINE.findall(output)}


def vars_file(variables: dict[str, Any], directory: str | Path | None = None) -> Path:
    """The variables as JSON in a file only its owner reads: pass it as ``-e @<file>``."""
    fd, name = tempfile.mkstemp(prefix="edgeai-vars-", suffix=".json", dir=directory)
    with os.fdopen(fd, "w") as handle:  # mkstemp creates it 0600
        json.dump(variables, handle)
    return Path(name)


def run_playbook(
    argv: list[str],
    *,
    env: dict[str, str],
    variables: dict[str, Any] | None = None,
    cwd: str | Path = REPO_ROOT,
    timeout: int = 1800,
) -> subprocess.CompletedProcess:
    """ansible-playbook with ``argv`` (inventory, playbook, flags) and ``variables`` from a 0600
    file removed afterwards; output captured as text, the exit status left to the caller."""
    extra: list[str] = []
    path = None
    if variables is not None:
        path = vars_file(variables)
        extra = ["-e", f"@{path}"]
    try:
        return subprocess.run(
            [PLAYBOOK_BIN, *argv, *extra],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    finally:
        if path is not None:
            path.unlink(missing_ok=True)
