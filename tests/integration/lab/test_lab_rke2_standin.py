"""The lab's release-shaped RKE2 stand-in (lab/standins/rke2, served by the artifacts part).

One stand-in server and one stand-in agent run in node containers of the lab's image, installed the
way RKE2's install.sh installs the tarball (its ``tar`` method): ``sha256sum-amd64.txt`` and
``rke2.linux-amd64.tar.gz`` from ``/rke2/<version>/``, the checksum verified, the bundle unpacked into
/usr/local (units stay in /usr/local/lib/systemd/system), ``systemctl daemon-reload``; a 0600
config.yaml. These tests check the stand-in keeps RKE2's observable contract and is strict where a
role could slip. Needs ``bash lab/lab.sh up nodeimage rke2 artifacts`` (``make lab-up``).
"""

from __future__ import annotations

import hashlib
import json
import re
import ssl
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.integration.lab.test_lab_k3s_standin import (
    _nodes,
    _ready,
    fetch,
    journal,
    kubectl,
    node_ip,
    sh,
    wait_until,
    write_file,
)
from tests.support.nodes import docker, start_node, system_state

pytestmark = pytest.mark.lab

VERSION = "v1.34.4+rke2r1"
DATA = "/var/lib/rancher/rke2"
BUNDLE = [
    "bin/rke2",
    "bin/rke2-killall.sh",
    "bin/rke2-uninstall.sh",
    "lib/systemd/system/rke2-agent.env",
    "lib/systemd/system/rke2-agent.service",
    "lib/systemd/system/rke2-server.env",
    "lib/systemd/system/rke2-server.service",
    "share/rke2/LICENSE.txt",
    "share/rke2/rke2-cis-sysctl.conf",
]
ASSETS = [
    "rke2-images-core.linux-amd64.tar.zst",
    "rke2-images-core.linux-amd64.txt",
    "rke2-images.linux-amd64.tar.zst",
    "rke2-images.linux-amd64.txt",
    "rke2.linux-amd64",
    "rke2.linux-amd64.tar.gz",
]


def install(node: str, url: str) -> None:
    """install.sh's tar method: checksum file and bundle, verified, unpacked into /usr/local."""
    base = f"{url}/{VERSION.replace('+', '%2B')}"
    sh(
        node,
        f"cd /tmp && curl -fsSO {base}/sha256sum-amd64.txt && curl -fsSO {base}/rke2.linux-amd64.tar.gz "
        "&& grep 'rke2.linux-amd64.tar.gz$' sha256sum-amd64.txt | sha256sum -c - "
        "&& tar xvzf rke2.linux-amd64.tar.gz -C /usr/local > bundle.list "
        "&& rm rke2.linux-amd64.tar.gz && systemctl daemon-reload",
    )


def start_agent(cluster: dict[str, str], config: str) -> None:
    """Stop the agent, give it CONFIG, start it without waiting for READY (it may never come)."""
    agent = cluster["agent"]
    sh(agent, "systemctl stop rke2-agent")
    write_file(agent, "/etc/rancher/rke2/config.yaml", config, "0600")
    sh(agent, "systemctl reset-failed rke2-agent; systemctl start --no-block rke2-agent")


def start_unit(node: str, unit: str, timeout: int) -> None:
    """systemctl start: returns once the stand-in sent READY=1 (Type=notify)."""
    result = sh(node, f"systemctl start {unit}", check=False, timeout=timeout)
    assert result.returncode == 0, f"stand-in {unit} did not start:\n{journal(node, unit)}"


def lab_kubeconfig(server: str, ip: str, path: Path) -> str:
    """The server's rke2.yaml pointed at its address instead of loopback, for the lab host's kubectl."""
    text = sh(server, "cat /etc/rancher/rke2/rke2.yaml").stdout
    path.write_text(text.replace("https://127.0.0.1:6443", f"https://{ip}:6443"))
    path.chmod(0o600)
    return str(path)


def restarts(node: str, unit: str) -> int:
    return int(sh(node, f"systemctl show -p NRestarts --value {unit}").stdout.strip() or 0)


def assert_logged(node: str, unit: str, *lines: str, depth: int = 400) -> None:
    """Each line is in the unit's journal (the wordings a role names the cause by)."""
    text = journal(node, unit, lines=depth)
    missing = [line for line in lines if line not in text]
    assert not missing, f"{unit} on {node} did not log {missing}:\n{text[-4000:]}"


def labels_and_taints(node: dict) -> tuple[dict[str, str], list[dict]]:
    return node["metadata"]["labels"], node["spec"].get("taints", [])


@pytest.fixture(scope="module")
def stand_in(lab, tmp_path_factory) -> Iterator[dict[str, str]]:
    """An RKE2 stand-in server and agent, each in its own node container; removed at the end."""
    url = lab.get("RKE2_STANDIN_NODE_URL")
    if not url:
        pytest.fail("the RKE2 stand-in is not served (no RKE2_STANDIN_NODE_URL): run bash lab/lab.sh up rke2 artifacts")
    nodes: dict[str, str] = {}
    try:
        for role in ("server", "agent"):
            nodes[role] = start_node(lab["NODE_IMAGE"], f"rke2-{role}")
        assert all(system_state(n) in ("running", "degraded") for n in nodes.values()), "systemd did not come up"
        with ThreadPoolExecutor(2) as pool:
            list(pool.map(lambda node: install(node, url), nodes.values()))
        cluster = dict(nodes, token="edgeai-lab-" + hashlib.sha256(nodes["server"].encode()).hexdigest()[:24])
        # cluster-init is K3s's: RKE2 has no such flag, so its server warns and skips it.
        server_config = (
            f'token: {cluster["token"]}\nwrite-kubeconfig-mode: "0640"\ncluster-init: true\n'
            "node-label:\n  - edgeai.io/site=lab\n"
        )
        write_file(nodes["server"], "/etc/rancher/rke2/config.yaml", server_config, "0600")
        start_unit(nodes["server"], "rke2-server", 240)
        cluster["ip"] = node_ip(nodes["server"])
        cluster["full_token"] = sh(nodes["server"], f"cat {DATA}/server/token").stdout.strip()
        agent_config = (
            f"server: https://{cluster['ip']}:9345\ntoken: {cluster['full_token']}\n"
            "node-label:\n  - edgeai.io/accelerator=jetson\nnode-taint:\n  - edgeai.io/gpu=true:NoSchedule\n"
        )
        write_file(nodes["agent"], "/etc/rancher/rke2/config.yaml", agent_config, "0600")
        start_unit(nodes["agent"], "rke2-agent", 120)
        kubeconfig = tmp_path_factory.mktemp("rke2-standin") / "kubeconfig"
        cluster["kubeconfig"] = lab_kubeconfig(nodes["server"], cluster["ip"], kubeconfig)
        # Node names are the containers' hostnames (RKE2's default node-name).
        cluster.update({f"{role}_node": sh(node, "hostname").stdout.strip() for role, node in nodes.items()})
        yield cluster
    finally:
        for node in nodes.values():
            docker("rm", "-f", node, check=False)


def test_stand_in_version_is_rke2_shaped(stand_in):
    first, go, *rest = sh(stand_in["server"], "rke2 --version").stdout.splitlines()
    assert rest == []
    # Roles read field 3 of line 1.
    assert re.fullmatch(r"rke2 version (\S+) \([0-9a-f]{8}\)", first) and first.split()[2] == VERSION
    assert re.fullmatch(r"go version go1\.24\.\d+ \(edgeai lab stand-in\)", go)


def test_stand_in_release_assets_and_bundle_layout(lab, stand_in):
    status, body = fetch(f"{lab['RKE2_STANDIN_URL']}/{VERSION}/sha256sum-amd64.txt")
    assert status == 200
    lines = body.decode().splitlines()
    assert sorted(line.split("  ", 1)[1] for line in lines) == ASSETS
    assert all(re.fullmatch(r"[0-9a-f]{64}  \S+", line) for line in lines)
    assert sh(stand_in["server"], "cat /tmp/bundle.list").stdout.split() == BUNDLE
    node = stand_in["server"]
    assert sh(node, "cat /usr/local/lib/systemd/system/rke2-agent.env").stdout == "HOME=/root\n"
    unit = sh(node, "systemctl cat rke2-server").stdout
    for line in (
        "Type=notify",
        "Conflicts=rke2-agent.service",
        "ExecStart=/usr/local/bin/rke2 server",
        "KillMode=process",
        "Delegate=yes",
        "LimitNOFILE=1048576",
        "Restart=always",
        "TimeoutStartSec=0",
        "EnvironmentFile=-/usr/local/lib/systemd/system/%N.env",
    ):
        assert line in unit.splitlines(), line


def test_stand_in_token_kubeconfig_and_kubectl(stand_in):
    node = stand_in["server"]
    assert sh(node, f"stat -c %a {DATA}/server/token").stdout.strip() == "600"
    match = re.fullmatch(r"K10([0-9a-f]{64})::server:(\S+)", stand_in["full_token"])
    assert match and match.group(2) == stand_in["token"]
    ca = sh(node, f"cat {DATA}/server/tls/server-ca.crt").stdout.encode()
    status, cacerts = fetch(f"https://{stand_in['ip']}:9345/cacerts", ssl.create_default_context(cadata=ca.decode()))
    assert status == 200 and cacerts == ca
    assert match.group(1) == hashlib.sha256(cacerts).hexdigest()
    assert sh(node, f"readlink {DATA}/server/node-token").stdout.strip() == "token"
    assert sh(node, "stat -c %a /etc/rancher/rke2/rke2.yaml").stdout.strip() == "640"
    assert "server: https://127.0.0.1:6443" in sh(node, "cat /etc/rancher/rke2/rke2.yaml").stdout
    out = sh(node, f"KUBECONFIG=/etc/rancher/rke2/rke2.yaml {DATA}/bin/kubectl get nodes -o name").stdout
    assert f"node/{stand_in['server_node']}" in out
    # RKE2's server filters its config keys: K3s's cluster-init is skipped with a warning.
    assert_logged(
        node,
        "rke2-server",
        'level=warning msg="Unknown flag --cluster-init found in config.yaml, skipping"',
        'level=info msg="rke2 is up and running"',
    )


def test_stand_in_ports_supervisor_9345_apiserver_6443(stand_in):
    ca = sh(stand_in["server"], f"cat {DATA}/server/tls/server-ca.crt").stdout
    context = ssl.create_default_context(cadata=ca)
    assert fetch(f"https://{stand_in['ip']}:9345/ping", context) == (200, b"pong")
    # 6443 is kube-apiserver itself (no supervisor there): anonymous requests are refused.
    status, body = fetch(f"https://{stand_in['ip']}:6443/ping", context)
    assert status == 401 and json.loads(body)["kind"] == "Status"
    ports = sh(stand_in["server"], "ss -Hltn").stdout
    for port in ("9345", "6443", "2379", "2380"):
        assert re.search(rf":{port}\s", ports), ports


def test_stand_in_nodes_ready_from_lab_host_with_labels_and_taints(stand_in):
    names = (stand_in["server_node"], stand_in["agent_node"])

    def all_ready() -> bool:
        found = _nodes(stand_in)
        return all(_ready(found.get(name, {})) for name in names)

    wait_until("both Nodes Ready", all_ready, 60, lambda: journal(stand_in["agent"], "rke2-agent"))
    found = _nodes(stand_in)
    assert sorted(found) == sorted(names), "the stand-in's cluster is its own: only its two nodes"
    (server_labels, server_taints), (agent_labels, agent_taints) = (labels_and_taints(found[n]) for n in names)
    roles = {k: v for k, v in server_labels.items() if k.startswith("node-role.kubernetes.io/")}
    assert roles == {f"node-role.kubernetes.io/{r}": "true" for r in ("control-plane", "etcd", "master")}
    assert (server_labels["edgeai.io/site"], server_labels["node.kubernetes.io/instance-type"]) == ("lab", "rke2")
    assert server_taints == []
    assert agent_labels["edgeai.io/accelerator"] == "jetson"
    assert [k for k in agent_labels if k.startswith("node-role.kubernetes.io/")] == []
    assert agent_taints == [{"key": "edgeai.io/gpu", "value": "true", "effect": "NoSchedule"}]
    assert {found[n]["status"]["nodeInfo"]["kubeletVersion"] for n in names} == {VERSION}
    assert found[names[1]]["metadata"]["annotations"]["rke2.io/internal-ip"] == node_ip(stand_in["agent"])
    secrets = kubectl(stand_in, "get", "secrets", "-n", "kube-system", "-o", "name").stdout.split()
    assert {f"secret/{n}.node-password.rke2" for n in names} <= set(secrets)
    # The agent's kubectl is there too after its first start.
    assert sh(stand_in["agent"], f"test -x {DATA}/bin/kubectl", check=False).returncode == 0


def test_stand_in_refuses_a_token_on_the_command_line(stand_in):
    result = sh(stand_in["agent"], "rke2 agent --token not-here", check=False)
    assert result.returncode == 1
    assert result.stderr.startswith("stand-in strict: a token was given on the command line (--token)")


def test_stand_in_agent_with_server_only_key_crash_loops(stand_in):
    agent, server = stand_in["agent"], f"https://{stand_in['ip']}:9345"
    start_agent(stand_in, f"server: {server}\ntoken: {stand_in['full_token']}\ncni:\n  - canal\n")
    wait_until("a restart of rke2-agent", lambda: restarts(agent, "rke2-agent") >= 1, 20)
    assert_logged(
        agent,
        "rke2-agent",
        "Incorrect Usage: flag provided but not defined: -cni",
        'level=fatal msg="flag provided but not defined: -cni"',
        "rke2 agent [OPTIONS]",
        depth=1000,  # the usage text is long
    )


def test_stand_in_agent_with_wrong_token_never_becomes_active(stand_in):
    agent, server = stand_in["agent"], f"https://{stand_in['ip']}:9345"
    start_agent(stand_in, f"server: {server}\ntoken: wrong-{stand_in['token']}\nnode-name: bad-agent\n")
    deadline, states = time.monotonic() + 7, []
    while time.monotonic() < deadline:
        time.sleep(1)
        states.append(sh(agent, "systemctl is-active rke2-agent", check=False).stdout.strip())
    assert "active" not in states and states[-1] == "activating", states
    assert_logged(
        agent,
        "rke2-agent",
        "Waiting to retrieve agent configuration; server is not ready: failed to retrieve configuration from "
        "server: https://127.0.0.1:6444/v1-rke2/config: 401 Unauthorized",
    )
    assert "bad-agent" not in _nodes(stand_in)


def test_stand_in_uninstall_leaves_no_process_or_path(stand_in):
    """rke2-uninstall.sh on the running server and on the agent still waiting to join."""
    paths = [
        "/usr/local/bin/rke2",
        "/usr/local/bin/rke2-killall.sh",
        "/usr/local/bin/rke2-uninstall.sh",
        "/usr/local/lib/systemd/system/rke2-server.service",
        "/usr/local/lib/systemd/system/rke2-agent.env",
        "/usr/local/share/rke2",
        "/etc/rancher/rke2",
        "/etc/rancher/node",
        "/var/lib/rancher/rke2",
        "/var/lib/kubelet",
    ]
    with ThreadPoolExecutor(2) as pool:
        results = list(
            pool.map(
                lambda n: sh(n, "/usr/local/bin/rke2-uninstall.sh", check=False),
                (stand_in["server"], stand_in["agent"]),
            )
        )
    for node, result in zip((stand_in["server"], stand_in["agent"]), results, strict=True):
        assert result.returncode == 0, result.stderr
        left = sh(node, f"ps -eo args= | grep -F {DATA}/data/ | grep -v grep", check=False).stdout
        assert left == "", left
        present = sh(node, " ".join(f"test -e {p} && echo {p};" for p in paths), check=False).stdout.split()
        assert present == [], present
        assert sh(node, "systemctl is-active rke2-server rke2-agent", check=False).stdout.split() == ["inactive"] * 2
