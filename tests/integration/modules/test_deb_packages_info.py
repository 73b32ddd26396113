"""deb_packages_info on a real Debian node: installed and missing in the order given, versions, check
mode, and a host without dpkg-query."""

from __future__ import annotations

import pytest

from tests.support.ansible import run_module
from tests.support.nodes import docker, start_node

pytestmark = pytest.mark.lab

UNKNOWN = "edgeai-no-such-package"


@pytest.fixture(scope="module")
def node(lab):
    # module scope: the module changes nothing, so every test can share one node
    name = start_node(lab["NODE_IMAGE"], "deb")
    try:
        yield name
    finally:
        docker("rm", "-f", name, check=False)


def deb_packages(node: str, names: list[str], check_mode: bool = False) -> dict:
    return run_module(
        "deb_packages_info",
        {"name": names},
        check_mode=check_mode,
        host=node,
        connection="community.docker.docker",
        interpreter="/usr/bin/python3",
    )


def dpkg_status(node: str, package: str) -> str:
    """What dpkg itself says (empty for a name it does not know)."""
    return docker("exec", node, "dpkg-query", "-W", "-f", "${Status}", package, check=False).stdout


def installed_version(node: str, package: str) -> str:
    return docker("exec", node, "dpkg-query", "-W", "-f", "${Version}", package).stdout


def test_installed_and_missing_in_the_order_given(node):
    # the node image has curl and ca-certificates; nfs-common is known to dpkg but not installed
    assert dpkg_status(node, "curl") == "install ok installed"
    assert dpkg_status(node, "nfs-common") != "install ok installed"
    result = deb_packages(node, ["nfs-common", "curl", UNKNOWN, "ca-certificates"])
    assert not result.get("failed"), result
    assert result["changed"] is False
    assert result["installed"] == ["curl", "ca-certificates"]
    assert result["missing"] == ["nfs-common", UNKNOWN]


def test_unknown_names_only_are_missing_not_an_error(node):
    # dpkg-query exits 1 when a name matches nothing
    result = deb_packages(node, [UNKNOWN, f"{UNKNOWN}-2"])
    assert not result.get("failed"), result
    assert result["installed"] == []
    assert result["missing"] == [UNKNOWN, f"{UNKNOWN}-2"]


def test_a_version_counts_only_when_that_version_is_installed(node):
    version = installed_version(node, "curl")
    arch = docker("exec", node, "dpkg", "--print-architecture").stdout.strip()
    other = "armhf" if arch != "armhf" else "amd64"
    specs = [
        f"curl={version}",
        "curl=0.0-bogus",
        f"curl={version.split('.')[0]}.*",
        "curl>=0.1",
        "curl>=99:0",
        f"curl:{arch}",
        f"curl:{other}",
    ]
    result = deb_packages(node, specs)
    assert not result.get("failed"), result
    assert result["installed"] == [f"curl={version}", f"curl={version.split('.')[0]}.*", "curl>=0.1", f"curl:{arch}"]
    assert result["missing"] == ["curl=0.0-bogus", "curl>=99:0", f"curl:{other}"]


def test_check_mode_answers_the_same_and_changes_nothing(node):
    names = ["curl", "nfs-common", "curl=0.0-bogus"]
    real = deb_packages(node, names)
    predicted = deb_packages(node, names, check_mode=True)
    assert not predicted.get("failed"), predicted
    assert predicted["changed"] is False
    assert (predicted["installed"], predicted["missing"]) == (real["installed"], real["missing"])
    assert predicted["missing"] == ["nfs-common", "curl=0.0-bogus"]


def test_a_malformed_spec_is_refused_by_name(node):
    result = deb_packages(node, ["curl", "curl="])
    assert result.get("failed"), result
    assert "'curl=' is not a package spec" in result["msg"]


def test_a_host_without_dpkg_query_fails_naming_the_cause(node):
    # what a non-Debian host is to the module: no dpkg-query anywhere it looks
    docker("exec", node, "mv", "/usr/bin/dpkg-query", "/usr/bin/dpkg-query.away")
    try:
        result = deb_packages(node, ["curl"])
    finally:
        docker("exec", node, "mv", "/usr/bin/dpkg-query.away", "/usr/bin/dpkg-query")
    assert result.get("failed"), result
    assert "dpkg-query was not found on this host" in result["msg"]
    assert "support Debian and Ubuntu only" in result["msg"]
    assert dpkg_status(node, "curl") == "install ok installed"
