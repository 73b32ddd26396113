"""The docker run flags of every systemd node container, shared with the lab (lab/node-run-flags)."""

from __future__ import annotations

from tests.labenv import REPO_ROOT


def node_run_flags() -> list[str]:
    """The flags in lab/node-run-flags, one per line (comments and blank lines skipped)."""
    text = (REPO_ROOT / "lab" / "node-run-flags").read_text()
    return [line for line in text.splitlines() if line and not line.startswith("#")]
