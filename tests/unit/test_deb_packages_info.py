"""deb_packages_info' client without a host: spec parsing, dpkg-query's lines, the one call it makes."""

from __future__ import annotations

import pytest

from ansible_collections.edgeai.inference.plugins.module_utils.deb.packages import (
    package_states,
    parse_show,
    parse_spec,
)
from ansible_collections.edgeai.inference.plugins.module_utils.errors import DebError

# dpkg-query --show output as a bookworm node prints it (unknown names only on stderr)
SHOW = (
    "ca-certificates\tall\t20230311+deb12u1\tinstall ok installed\n"
    "curl\tamd64\t7.88.1-10+deb12u15\tinstall ok installed\n"
    "nfs-common\t\t\tunknown ok not-installed\n"
    "rpcbind\tamd64\t1.2.6-6+b1\tdeinstall ok config-files\n"
    "python3-numpy\tamd64\t1:1.24.2-1+deb12u1\thold ok installed\n"
)


def bin_path(name: str) -> str | None:
    return f"/usr/bin/{name}"


class FakeRun:
    """run_command: SHOW for dpkg-query (rc 1, as when a name is unknown), Debian rules for >=."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def __call__(self, argv: list[str], **_kwargs) -> tuple[int, str, str]:
        self.calls.append(argv)
        if argv[0].endswith("dpkg-query"):
            return 1, SHOW, "dpkg-query: no packages found matching nope\n"
        version, minimum = argv[2], argv[4]
        return (0 if (version, minimum) in {("7.88.1-10+deb12u15", "7.0")} else 1), "", ""


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("curl", ("curl", None, None, None)),
        ("libc6:amd64", ("libc6", "amd64", None, None)),
        ("curl=7.88.1-10+deb12u15", ("curl", None, "=", "7.88.1-10+deb12u15")),
        ("python3-numpy>=1:1.24", ("python3-numpy", None, ">=", "1:1.24")),
        ("python3-numpy:arm64=1:1.24*", ("python3-numpy", "arm64", "=", "1:1.24*")),
    ],
)
def test_specs_split_as_apt_splits_them(text, parts):
    spec = parse_spec(text)
    assert (spec.name, spec.arch, spec.operator, spec.version) == parts
    assert spec.text == text


@pytest.mark.parametrize("text", ["", "curl=", "curl>=", ":amd64", "curl:", "=1.0"])
def test_malformed_specs_are_refused(text):
    with pytest.raises(DebError, match="is not a package spec"):
        parse_spec(text)


def test_only_the_installed_state_counts():
    installed = parse_show(SHOW)
    assert sorted(installed) == ["ca-certificates", "curl", "python3-numpy"]
    assert installed["python3-numpy"] == [("amd64", "1:1.24.2-1+deb12u1")]


def test_one_query_and_the_order_given():
    run = FakeRun()
    names = ["nope", "curl", "rpcbind", "ca-certificates", "nfs-common", "python3-numpy", "curl"]
    installed, missing = package_states(run, bin_path, names)
    assert installed == ["curl", "ca-certificates", "python3-numpy", "curl"]
    assert missing == ["nope", "rpcbind", "nfs-common"]
    assert len(run.calls) == 1
    argv = run.calls[0]
    assert argv[:2] == ["/usr/bin/dpkg-query", "--show"]
    # no shell, and "--" before the names: a name cannot pass for an option
    assert argv[3:] == ["--", "nope", "curl", "rpcbind", "ca-certificates", "nfs-common", "python3-numpy"]


def test_versions_and_architectures():
    run = FakeRun()
    names = [
        "curl=7.88.1-10+deb12u15",
        "curl=7.88*",
        "curl=0.0-bogus",
        "curl>=7.0",
        "curl>=99",
        "curl:amd64",
        "curl:arm64",
        "ca-certificates:all",
    ]
    installed, missing = package_states(run, bin_path, names)
    assert installed == ["curl=7.88.1-10+deb12u15", "curl=7.88*", "curl>=7.0", "curl:amd64", "ca-certificates:all"]
    assert missing == ["curl=0.0-bogus", "curl>=99", "curl:arm64"]


def test_no_dpkg_query_says_debian_and_ubuntu_only():
    with pytest.raises(DebError, match=r"dpkg-query was not found.*support Debian and Ubuntu only"):
        package_states(FakeRun(), lambda _name: None, ["curl"])


def test_a_dpkg_query_error_is_not_taken_for_missing():
    def broken(_argv, **_kwargs):
        return 2, "", "dpkg-query: error: parsing file '/var/lib/dpkg/status' near line 1\n"

    with pytest.raises(DebError, match=r"dpkg-query failed \(rc 2\): dpkg-query: error: parsing file") as err:
        package_states(broken, bin_path, ["curl"])
    assert err.value.details["rc"] == 2
