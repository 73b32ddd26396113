"""The lab's release-shaped K3s stand-in (lab/standins/k3s, served by the artifacts part).

One stand-in server and one stand-in agent run in node containers of the lab's image, installed the
way a role installs K3s: ``curl`` of ``/k3s/<version>/k3s`` from the artifact server, a hand-written
unit (Type=notify, TimeoutStartSec=0, KillMode=process, Delegate=yes) and a 0600 config.yaml.
These tests check the stand-in keeps K3s's observable contract and is strict where a role could
slip. Needs ``bash lab/lab.sh up nodeimage k3s artifacts`` (``make lab-up``).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import ssl
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.labenv import LAB_DIR, REPO_ROOT
from tests.support.nodes import docker, start_node, system_state

pytestmark = pytest.mark.lab

VERSION = "v1.34.4+k3s1"
KUBECTL = str(REPO_ROOT / ".venv/bin/kubectl")
UNIT = """[Unit]
Description=Lightweight Kubernetes (edgeai lab K3s stand-in test)
Wants=network-online.target
After=network-online.target

[Service]
Type=notify
KillMode=process
Delegate=yes
TimeoutStartSec=0
Restart=always
RestartSec=5s
ExecStart=/usr/local/bin/k3s {command}
"""


def sh(node: str, script: str, check: bool = True, stdin: str | None = None, timeout: int = 240):
    argv = ["docker", "exec", *(["-i"] if stdin is not None else []), node, "bash", "-c", script]
    result = subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=timeout, check=False)
    if check and result.returncode != 0:
        pytest.fail(f"in {node}: {script!r} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


def journal(node: str, unit: str, lines: int = 40) -> str:
    return sh(node, f"journalctl -u {unit} --no-pager -n {lines}", check=False).stdout


def write_file(node: str, path: str, text: str, mode: str) -> None:
    sh(node, f"mkdir -p $(dirname {path}) && umask 077 && cat > {path} && chmod {mode} {path}", stdin=text)


def install(node: str, url: str, command: str) -> None:
    """What a role does: download the release asset, check its sha256, install the unit."""
    base = f"{url}/{VERSION.replace('+', '%2B')}"
    sh(
        node,
        f"cd /tmp && curl -fsSO {base}/k3s && curl -fsS {base}/sha256sum-amd64.txt | grep ' k3s$' | sha256sum -c - "
        "&& install -m 0755 k3s /usr/local/bin/k3s && rm k3s && ln -sf k3s /usr/local/bin/kubectl",
    )
    unit = "k3s" if command == "server" else "k3s-agent"
    write_file(node, f"/etc/systemd/system/{unit}.service", UNIT.format(command=command), "0644")
    sh(node, "systemctl daemon-reload")


def node_ip(node: str) -> str:
    return docker("inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", node).stdout.strip()


def wait_until(what: str, check, timeout: float, detail=lambda: "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(1)
    pytest.fail(f"stand-in: {what} not reached in {timeout:.0f}s\n{detail()}")


@pytest.fixture(scope="module")
def stand_in(lab, tmp_path_factory) -> Iterator[dict[str, str]]:
    """A K3s stand-in server and agent, each in its own node container; removed at the end."""
    url = lab.get("K3S_STANDIN_NODE_URL")
    if not url:
        pytest.fail("the K3s stand-in is not served (no K3S_STANDIN_NODE_URL): run bash lab/lab.sh up k3s artifacts")
    started: list[str] = []
    try:
        server = start_node(lab["NODE_IMAGE"], "k3s-server")
        started.append(server)
        agent = start_node(lab["NODE_IMAGE"], "k3s-agent")
        started.append(agent)
        for node in started:
            assert system_state(node) in ("running", "degraded"), f"systemd in {node} did not come up"
            install(node, url, "server" if node == server else "agent")
        token = secrets.token_hex(16)
        # Unquoted on purpose: YAML 1.1 reads 0644 as the integer 420, so K3s writes mode 0420.
        write_file(
            server,
            "/etc/rancher/k3s/config.yaml",
            f"token: {token}\nwrite-kubeconfig-mode: 0644\ncluster-init: true\nnode-label:\n  - edgeai.io/site=lab\n",
            "0600",
        )
        started_at = time.monotonic()
        result = sh(server, "systemctl start k3s", check=False, timeout=240)
        assert result.returncode == 0, f"stand-in server did not start:\n{result.stderr}\n{journal(server, 'k3s')}"
        ip = node_ip(server)
        agent_config = (
            f"server: https://{ip}:6443\ntoken: {token}\nnode-label:\n  - edgeai.io/accelerator=jetson\n"
            "node-taint:\n  - edgeai.io/gpu=true:NoSchedule\n"
        )
        write_file(agent, "/etc/rancher/k3s/config.yaml", agent_config, "0600")
        result = sh(agent, "systemctl start k3s-agent", check=False, timeout=120)
        assert result.returncode == 0, f"stand-in agent did not start:\n{journal(agent, 'k3s-agent')}"
        kubeconfig = tmp_path_factory.mktemp("k3s-standin") / "kubeconfig"
        text = sh(server, "cat /etc/rancher/k3s/k3s.yaml").stdout.replace(
            "https://127.0.0.1:6443", f"https://{ip}:6443"
        )
        kubeconfig.write_text(text)
        kubeconfig.chmod(0o600)
        yield {
            "server": server,
            "agent": agent,
            # Node names are the containers' hostnames (K3s's default node-name).
            "server_node": sh(server, "hostname").stdout.strip(),
            "agent_node": sh(agent, "hostname").stdout.strip(),
            "ip": ip,
            "token": token,
            "kubeconfig": str(kubeconfig),
            "startup": f"{time.monotonic() - started_at:.0f}s",
        }
    finally:
        for node in started:
            docker("rm", "-f", node, check=False)


def kubectl(cluster: dict[str, str], *args: str, check: bool = True) -> subprocess.CompletedProcess:
    argv = [KUBECTL, f"--kubeconfig={cluster['kubeconfig']}", "--request-timeout=15s", *args]
    return subprocess.run(argv, capture_output=True, text=True, check=check, timeout=60)


def fetch(url: str, context: ssl.SSLContext | None = None) -> tuple[int, bytes]:
    context = context or ssl._create_unverified_context()
    try:
        with urllib.request.urlopen(url, context=context, timeout=15) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def test_stand_in_version_is_k3s_shaped(stand_in):
    out = sh(stand_in["server"], "k3s --version").stdout.splitlines()
    assert len(out) == 2
    assert re.fullmatch(r"k3s version v1\.34\.4\+k3s1 \([0-9a-f]{8}\)", out[0])
    assert out[0].split()[2] == VERSION
    assert re.fullmatch(r"go version go1\.24\.\d+ \(edgeai lab stand-in\)", out[1])


def test_stand_in_token_file_mode_format_and_symlinks(stand_in):
    node = stand_in["server"]
    stat = sh(node, "stat -c '%a %F' /var/lib/rancher/k3s/server/token").stdout.split(None, 1)
    assert stat == ["600", "regular file\n"]
    raw = sh(node, "cat /var/lib/rancher/k3s/server/token").stdout
    assert raw.endswith("\n") and raw.count("\n") == 1
    match = re.fullmatch(r"K10([0-9a-f]{64})::server:(\S+)\n", raw)
    assert match, raw
    assert match.group(2) == stand_in["token"]
    _status, cacerts = fetch(f"https://{stand_in['ip']}:6443/cacerts")
    assert match.group(1) == hashlib.sha256(cacerts).hexdigest()
    for link in ("node-token", "agent-token"):
        assert sh(node, f"readlink /var/lib/rancher/k3s/server/{link}").stdout.strip() == "token"


def test_stand_in_kubeconfig_unquoted_mode_is_0420_and_points_at_loopback(stand_in):
    node = stand_in["server"]
    assert sh(node, "stat -c %a /etc/rancher/k3s/k3s.yaml").stdout.strip() == "420"
    text = sh(node, "cat /etc/rancher/k3s/k3s.yaml").stdout
    assert "server: https://127.0.0.1:6443" in text
    assert "current-context: default" in text and "  name: default" in text


def test_stand_in_ping_and_cacerts_unauthenticated(stand_in):
    status, body = fetch(f"https://{stand_in['ip']}:6443/ping")
    assert (status, body) == (200, b"pong")
    status, body = fetch(f"https://{stand_in['ip']}:6443/cacerts")
    ca = sh(stand_in["server"], "cat /var/lib/rancher/k3s/server/tls/server-ca.crt").stdout.encode()
    assert status == 200 and body == ca
    # The CA it serves is the one the API's serving certificate chains to.
    context = ssl.create_default_context(cadata=body.decode())
    context.check_hostname = False
    assert fetch(f"https://{stand_in['ip']}:6443/ping", context) == (200, b"pong")


def _nodes(cluster) -> dict[str, dict]:
    out = kubectl(cluster, "get", "nodes", "-o", "json", check=False)
    return {n["metadata"]["name"]: n for n in json.loads(out.stdout)["items"]} if out.returncode == 0 else {}


def _ready(node: dict) -> bool:
    return any(c["type"] == "Ready" and c["status"] == "True" for c in node.get("status", {}).get("conditions", []))


def test_stand_in_nodes_ready_from_lab_host_with_labels_and_taints(stand_in):
    server, agent = stand_in["server_node"], stand_in["agent_node"]
    wait_until(
        "server and agent Nodes Ready",
        lambda: (n := _nodes(stand_in)) and all(_ready(n.get(x, {})) for x in (server, agent)),
        60,
        lambda: (
            kubectl(stand_in, "get", "nodes", "-o", "wide", check=False).stdout
            + journal(stand_in["agent"], "k3s-agent")
        ),
    )
    nodes = _nodes(stand_in)
    s_labels, a_labels = nodes[server]["metadata"]["labels"], nodes[agent]["metadata"]["labels"]
    for key in ("control-plane", "master", "etcd"):
        assert s_labels[f"node-role.kubernetes.io/{key}"] == "true"
    assert s_labels["edgeai.io/site"] == "lab" and s_labels["node.kubernetes.io/instance-type"] == "k3s"
    assert a_labels["edgeai.io/accelerator"] == "jetson"
    assert not any(k.startswith("node-role.kubernetes.io/") for k in a_labels)
    assert nodes[agent]["spec"]["taints"] == [{"key": "edgeai.io/gpu", "value": "true", "effect": "NoSchedule"}]
    assert nodes[agent]["status"]["nodeInfo"]["kubeletVersion"] == VERSION
    assert nodes[agent]["metadata"]["annotations"]["k3s.io/internal-ip"] == node_ip(stand_in["agent"])
    version = json.loads(kubectl(stand_in, "version", "-o", "json").stdout)["serverVersion"]["gitVersion"]
    assert version == VERSION
    # The stand-in's cluster is its own: none of the lab's kwok nodes is in it.
    assert set(nodes) == {server, agent}


def test_stand_in_streams_watches_through_the_supervisor(stand_in, tmp_path):
    """A watch's first event arrives long before the watch ends: the supervisor streams."""
    config = yaml.safe_load(Path(stand_in["kubeconfig"]).read_text())
    user = config["users"][0]["user"]
    cert, key = tmp_path / "admin.crt", tmp_path / "admin.key"
    cert.write_bytes(base64.b64decode(user["client-certificate-data"]))
    key.write_bytes(base64.b64decode(user["client-key-data"]))
    context = ssl._create_unverified_context()
    context.load_cert_chain(str(cert), str(key))
    started = time.monotonic()
    url = f"https://{stand_in['ip']}:6443/api/v1/nodes?watch=true&timeoutSeconds=20"
    with urllib.request.urlopen(url, context=context, timeout=30) as response:
        event = json.loads(response.readline())
    assert event["type"] == "ADDED"
    assert time.monotonic() - started < 10


def test_stand_in_refuses_client_certificates_it_did_not_sign(stand_in):
    pki = Path(LAB_DIR) / "kube" / "pki"
    context = ssl._create_unverified_context()
    context.load_cert_chain(str(pki / "admin.crt"), str(pki / "admin.key"))  # the lab's own cluster admin
    status, body = fetch(f"https://{stand_in['ip']}:6443/api/v1/nodes", context)
    assert status == 401 and json.loads(body)["reason"] == "Unauthorized"
    status, _body = fetch(f"https://{stand_in['ip']}:6443/api/v1/nodes")
    assert status == 401
    request = urllib.request.Request(
        f"https://{stand_in['ip']}:6443/api/v1/nodes",
        headers={"X-Remote-User": "system:admin", "X-Remote-Group": "system:masters"},
    )
    try:
        urllib.request.urlopen(request, context=ssl._create_unverified_context(), timeout=15)
        pytest.fail("stand-in: a spoofed X-Remote-User header was trusted")
    except urllib.error.HTTPError as exc:
        assert exc.code == 401


def test_stand_in_refuses_a_token_on_the_command_line(stand_in):
    result = sh(stand_in["agent"], "k3s agent --token not-here", check=False)
    assert result.returncode == 1
    assert result.stderr.startswith("stand-in strict: a token was given on the command line (--token)")


def test_stand_in_agent_with_wrong_token_never_becomes_active(stand_in):
    agent = stand_in["agent"]
    config = f"server: https://{stand_in['ip']}:6443\ntoken: wrong-{stand_in['token']}\nnode-name: bad-agent\n"
    sh(agent, "systemctl stop k3s-agent")
    write_file(agent, "/etc/rancher/k3s/config.yaml", config, "0600")
    sh(agent, "systemctl reset-failed k3s-agent; systemctl start --no-block k3s-agent")
    states = []
    for _second in range(8):
        time.sleep(1)
        states.append(sh(agent, "systemctl is-active k3s-agent", check=False).stdout.strip())
    assert "active" not in states, states
    assert states[-1] == "activating"
    text = journal(agent, "k3s-agent")
    assert "Waiting to retrieve agent configuration; server is not ready: failed to retrieve configuration " in text
    assert "/v1-k3s/config: 401 Unauthorized" in text
    assert "bad-agent" not in _nodes(stand_in)


def test_stand_in_agent_with_server_only_key_crash_loops(stand_in):
    agent = stand_in["agent"]
    config = f"server: https://{stand_in['ip']}:6443\ntoken: {stand_in['token']}\ndisable:\n  - traefik\n"
    sh(agent, "systemctl stop k3s-agent")
    write_file(agent, "/etc/rancher/k3s/config.yaml", config, "0600")
    sh(agent, "systemctl reset-failed k3s-agent; systemctl start --no-block k3s-agent")
    wait_until(
        "a restart of k3s-agent",
        lambda: int(sh(agent, "systemctl show -p NRestarts --value k3s-agent").stdout.strip() or 0) >= 1,
        20,
        lambda: journal(agent, "k3s-agent"),
    )
    text = journal(agent, "k3s-agent", lines=1000)  # the usage text is long
    assert "Incorrect Usage: flag provided but not defined: -disable" in text
    assert 'level=fatal msg="flag provided but not defined: -disable"' in text
    assert "k3s agent [OPTIONS]" in text


def test_stand_in_joining_server_with_wrong_token_creates_no_cluster(stand_in):
    # On the agent's node, its own data dir and no config file: only the wrong token (from env).
    script = (
        f"K3S_TOKEN=wrong-{stand_in['token']} k3s server --config /tmp/none.yaml "
        f"--server https://{stand_in['ip']}:6443 --data-dir /tmp/joiner"
    )
    result = sh(stand_in["agent"], script, check=False, timeout=60)
    assert result.returncode == 1
    assert "failed to get bootstrap data: " in result.stderr
    assert "/v1-k3s/server-bootstrap: 401 Unauthorized" in result.stderr
    assert sh(stand_in["agent"], "test -e /tmp/joiner/server/db", check=False).returncode == 1
    assert sh(stand_in["agent"], "ss -Hltn 'sport = :2379'").stdout.strip() == ""


def test_stand_in_stop_leaves_no_process(stand_in):
    server = stand_in["server"]
    sh(server, "systemctl stop k3s")
    left = sh(server, "ps -eo args= | grep -E '/var/lib/rancher/k3s/data/' | grep -v grep", check=False).stdout
    assert left == "", left
