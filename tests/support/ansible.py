"""One way to run Ansible from the tests and benchmarks: a playbook, its variables in a 0600 file
(never in argv, where secrets would show in the process list), one environment with one of two
configurations (the repository's ansible.cfg, or the one generated for JSON output), and the play
recap or the JSON report parsed once."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, NamedTuple

from tests.labenv import REPO_ROOT

PLAYBOOK_BIN = str(REPO_ROOT / ".venv/bin/ansible-playbook")
ADHOC_BIN = str(REPO_ROOT / ".venv/bin/ansible")
# The repository's configuration: what a user running the playbooks gets (profile_tasks on).
REPO_CONFIG = REPO_ROOT / "ansible.cfg"
# The one generated configuration, for runs whose stdout is parsed as JSON: the same collection
# path and pipelining, the JSON callback, nothing that would print into the stream.
JSON_CONFIG = Path(tempfile.mkdtemp(prefix="edgeai-ansible-")) / "ansible.cfg"
JSON_CONFIG.write_text(
    f"[defaults]\ncollections_path = {REPO_ROOT / '.collections'}\n"
    "stdout_callback = ansible.posix.json\nbin_ansible_callbacks = true\npipelining = true\n"
)
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


def environment(*, json_output: bool = False, **extra: str) -> dict[str, str]:
    """The environment of every Ansible run of the tests: this venv's tools first on PATH, no colour,
    the repository's configuration (or the JSON one), and ``extra`` on top."""
    env = dict(os.environ, ANSIBLE_CONFIG=str(JSON_CONFIG if json_output else REPO_CONFIG), ANSIBLE_NOCOLOR="1")
    env.pop("ANSIBLE_FORCE_COLOR", None)
    env["PATH"] = f"{REPO_ROOT / '.venv/bin'}:{env['PATH']}"
    env.update(extra)
    return env


def module_argv(
    module: str,
    args: dict[str, Any],
    *,
    interpreter: str,
    host: str = "localhost",
    connection: str = "local",
    check: bool = False,
    diff: bool = False,
) -> list[str]:
    """``ansible`` (ad hoc) running edgeai.inference.<module> once on ``host``. ``args`` are argv:
    secrets go in the environment (the modules' fallbacks), never here."""
    argv = [ADHOC_BIN, host, "-i", f"{host},", "-c", connection, "-m", f"edgeai.inference.{module}"]
    # interpreter discovery here finds a broken pyenv shim: name the interpreter
    argv += ["-a", json.dumps(args), "-e", f"ansible_python_interpreter={interpreter}"]
    return argv + (["--check"] if check else []) + (["--diff"] if diff else [])


class NoJsonReport(Exception):
    """A JSON-configured run printed no JSON report (it died before, or printed something else)."""


def json_report(proc: subprocess.CompletedProcess) -> dict[str, Any]:
    """The ansible.posix.json report of a run made with ``environment(json_output=True)``."""
    try:
        return json.loads(proc.stdout)
    except ValueError as exc:
        said = f"{proc.stdout[-3000:]}\n{proc.stderr}"
        raise NoJsonReport(f"no JSON from Ansible (rc {proc.returncode}):\n{said}") from exc


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


def run_module(
    module: str,
    args: dict,
    check_mode: bool = False,
    diff: bool = False,
    env: dict[str, str] | None = None,
    interpreter: str = sys.executable,
    host: str = "localhost",
    connection: str = "local",
) -> dict:
    """Run edgeai.inference.<module> through `ansible` (ad hoc, local) and return its result.

    Secrets go in ``env`` (the modules' environment fallbacks), never in ``args``: those are argv.
    ``interpreter`` is the Python the module runs with (this venv's by default). ``host`` and
    ``connection`` run it elsewhere, a node container through community.docker.docker for one."""
    env = environment(json_output=True, **(env or {}))
    argv = module_argv(
        module, args, interpreter=interpreter, host=host, connection=connection, check=check_mode, diff=diff
    )
    proc = subprocess.run(argv, env=env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=300, check=False)
    return json_report(proc)["plays"][0]["tasks"][0]["hosts"][host]
