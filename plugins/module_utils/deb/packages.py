# Copyright: edgeai.inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which of a list of apt package specs dpkg has installed, from one dpkg-query.

A spec is what ``ansible.builtin.apt`` takes: ``NAME``, ``NAME:ARCH``, ``NAME=VERSION``
(``*`` in VERSION is a wildcard, as for apt) or ``NAME>=VERSION``. Importing python3-apt
and building its cache costs most of a CPU second on a small node; dpkg-query reads
/var/lib/dpkg/status and costs a few milliseconds, so a role asks it first and runs apt
only when something is missing.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable
from dataclasses import dataclass

from ansible_collections.edgeai.inference.plugins.module_utils.errors import DebError

# ${Status} is "WANT EFLAG STATUS", e.g. "install ok installed", "hold ok installed",
# "deinstall ok config-files", "unknown ok not-installed".
SHOW_FORMAT = "${Package}\t${Architecture}\t${Version}\t${Status}\n"
# dpkg-query --show: 0 every pattern matched, 1 some matched nothing (unknown names), 2 an error.
QUERY_OK = (0, 1)
# Whatever the locale, dpkg's messages in an error come in English.
C_LOCALE = {"LANG": "C", "LC_ALL": "C", "LC_MESSAGES": "C"}


@dataclass(frozen=True)
class Spec:
    """One package spec, split as ansible.builtin.apt splits it."""

    text: str
    name: str
    arch: str | None
    operator: str | None
    version: str | None

    @property
    def query(self) -> str:
        """The pattern dpkg-query takes: NAME or NAME:ARCH."""
        return f"{self.name}:{self.arch}" if self.arch else self.name


def parse_spec(text: str) -> Spec:
    """Split NAME[:ARCH][=VERSION|>=VERSION] (the version may hold a colon: an epoch)."""
    parts = re.split(r"(>?=)", text.strip(), maxsplit=1)
    package = parts[0]
    operator, version = (parts[1], parts[2]) if len(parts) == 3 else (None, None)
    name, colon, arch = package.partition(":")
    if not name or (colon and not arch) or (operator and not version):
        raise DebError(f"{text!r} is not a package spec: expected NAME, NAME:ARCH, NAME=VERSION or NAME>=VERSION")
    return Spec(text, name, arch or None, operator, version)


def parse_show(stdout: str) -> dict[str, list[tuple[str, str]]]:
    """Installed (architecture, version) pairs by package name, from dpkg-query's SHOW_FORMAT lines."""
    installed: dict[str, list[tuple[str, str]]] = {}
    for line in stdout.splitlines():
        fields = line.split("\t")
        if len(fields) != 4:
            continue
        name, arch, version, status = fields
        # the current state is the third word; apt counts a package as installed on that alone
        if status.split()[-1:] == ["installed"]:
            installed.setdefault(name, []).append((arch, version))
    return installed


class Dpkg:
    """dpkg-query (and dpkg, for >= comparisons) through the module's run_command."""

    def __init__(
        self, run_command: Callable[..., tuple[int, str, str]], get_bin_path: Callable[[str], str | None]
    ) -> None:
        self.run_command = run_command
        self.dpkg_query = get_bin_path("dpkg-query")
        self.dpkg = get_bin_path("dpkg")
        if not self.dpkg_query:
            raise DebError(
                "dpkg-query was not found on this host (searched PATH, /sbin, /usr/sbin and /usr/local/sbin): "
                "it is not a Debian or Ubuntu system. The edgeai.inference roles install Debian packages and "
                "support Debian and Ubuntu only."
            )

    def installed(self, specs: list[Spec]) -> dict[str, list[tuple[str, str]]]:
        """One dpkg-query for every spec; names dpkg does not know are simply absent."""
        patterns = list(dict.fromkeys(spec.query for spec in specs))
        argv = [self.dpkg_query, "--show", f"--showformat={SHOW_FORMAT}", "--", *patterns]
        rc, stdout, stderr = self.run_command(argv, environ_update=C_LOCALE)
        if rc not in QUERY_OK:
            raise DebError(f"dpkg-query failed (rc {rc}): {stderr.strip()}", rc=rc, stderr=stderr, cmd=argv)
        return parse_show(stdout)

    def version_at_least(self, version: str, minimum: str) -> bool:
        argv = [self.dpkg or "dpkg", "--compare-versions", version, "ge", minimum]
        rc, _stdout, stderr = self.run_command(argv, environ_update=C_LOCALE)
        if rc not in (0, 1):
            raise DebError(f"dpkg cannot compare versions {version!r} and {minimum!r}: {stderr.strip()}", rc=rc)
        return rc == 0

    def satisfied(self, spec: Spec, installed: dict[str, list[tuple[str, str]]]) -> bool:
        versions = [v for arch, v in installed.get(spec.name, []) if spec.arch in (None, arch)]
        if spec.operator == "=":
            return any(fnmatch.fnmatchcase(v, spec.version or "") for v in versions)
        if spec.operator == ">=":
            return any(self.version_at_least(v, spec.version or "") for v in versions)
        return bool(versions)


def package_states(
    run_command: Callable[..., tuple[int, str, str]], get_bin_path: Callable[[str], str | None], names: list[str]
) -> tuple[list[str], list[str]]:
    """(installed, missing): the specs as given, in their order."""
    specs = [parse_spec(name) for name in names]
    dpkg = Dpkg(run_command, get_bin_path)
    installed = dpkg.installed(specs) if specs else {}
    states = [(spec.text, dpkg.satisfied(spec, installed)) for spec in specs]
    return [text for text, ok in states if ok], [text for text, ok in states if not ok]
