"""Contract breaches the real K3s and RKE2 let pass, refused here so a role cannot slip past them.

Each refusal is one line starting ``stand-in strict:`` and exit status 1:
- a token on the command line (visible in ps and in the unit file);
- a config file (main or drop-in), token file or environment file holding a token that group or
  others can read;
- a systemd unit (/etc/systemd/system/k3s*.service; for RKE2 also /usr/local/lib/systemd/system/rke2*.service)
  or its drop-ins holding a token value.
"""

from __future__ import annotations

import glob
import re
import stat
from pathlib import Path

import yaml
from common import strict
from flavour import FLAVOUR

TOKEN_FLAGS = ("token", "t", "agent-token")
TOKEN_KEYS = ("token", "agent-token")
ENV = FLAVOUR.env
ENV_TOKEN = re.compile(rf"^\s*(?:export\s+)?({ENV}TOKEN|{ENV}AGENT_TOKEN)\s*=\s*(\S.*)$", re.MULTILINE)
UNIT_TOKEN = re.compile(rf"{ENV}(?:AGENT_)?TOKEN=\S|--(?:agent-)?token[= ]|\s-t[= ]\S")


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _open_to_others(path: Path) -> bool:
    return bool(_mode(path) & 0o044)


def check_argv(cli_args: list[str]) -> None:
    for arg in cli_args:
        if not arg.startswith("-"):
            continue
        name = arg.lstrip("-").split("=", 1)[0]
        if name in TOKEN_FLAGS:
            strict(
                f"a token was given on the command line (-{'-' if len(name) > 1 else ''}{name}): it shows in ps "
                f"and in the unit file; use token-file, a 0600 config.yaml or {ENV}TOKEN in a 0600 environment file"
            )


def check_config_files(files: list[Path]) -> None:
    for path in files:
        try:
            data = yaml.safe_load(path.read_text()) or {}
        except (OSError, yaml.YAMLError):
            continue
        if not isinstance(data, dict):
            continue
        keys = [str(k).removesuffix("+") for k, v in data.items() if v not in (None, "")]
        held = [k for k in keys if k in TOKEN_KEYS]
        if held and _open_to_others(path):
            strict(
                f"{path} holds {held[0]} and is mode {_mode(path):04o} (readable by group or others): "
                "a file with a token must be 0600"
            )


def check_token_file(path: str) -> None:
    if path and Path(path).is_file() and _open_to_others(Path(path)):
        strict(f"token file {path} is mode {_mode(Path(path)):04o} (readable by group or others): make it 0600")


def _unit_files() -> list[Path]:
    units = sorted(Path(p) for pattern in FLAVOUR.unit_patterns() for p in glob.glob(pattern))
    dropins = sorted(Path(p) for p in glob.glob(f"/etc/systemd/system/{FLAVOUR.name}*.service.d/*.conf"))
    return [p for p in units + dropins if p.is_file()]


def _env_files() -> list[Path]:
    found: list[Path] = []
    for unit in _unit_files():
        name = unit.name.removesuffix(".service") if unit.suffix == ".service" else unit.parent.name[:-10]
        for line in unit.read_text(errors="replace").splitlines():
            line = line.strip()
            if not line.startswith("EnvironmentFile="):
                continue
            for item in line.split("=", 1)[1].split():
                found.append(Path(item.lstrip("-").replace("%N", name).replace("%n", name + ".service")))
    for pattern in FLAVOUR.env_file_patterns():
        found.extend(Path(p) for p in glob.glob(pattern))
    unique = []
    for path in found:
        if path not in unique and path.is_file():
            unique.append(path)
    return unique


def check_env_files() -> None:
    for path in _env_files():
        match = ENV_TOKEN.search(path.read_text(errors="replace"))
        if match and match.group(2).strip().strip("'\"") and _open_to_others(path):
            strict(
                f"environment file {path} holds {match.group(1)} and is mode {_mode(path):04o} "
                "(readable by group or others): make it 0600"
            )


def check_units(secrets: list[str]) -> None:
    for unit in _unit_files():
        text = unit.read_text(errors="replace")
        leaked = any(s and len(s) >= 6 and s in text for s in secrets)
        if leaked or UNIT_TOKEN.search(text):
            strict(
                f"systemd unit {unit} holds a token: unit files are world-readable and shown by systemctl cat; "
                "put the token in a 0600 file (token-file, config.yaml or the unit's EnvironmentFile)"
            )


def check_all(parsed, secrets: list[str]) -> None:
    check_argv(parsed.cli_args)
    check_config_files(parsed.config_files)
    check_token_file(parsed.get("token-file") or "")
    if parsed.command == "server":
        check_token_file(parsed.get("agent-token-file") or "")
    check_env_files()
    check_units(secrets)
