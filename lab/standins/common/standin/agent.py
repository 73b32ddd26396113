"""``k3s agent`` / ``rke2 agent``: validate the server and the token, fetch a kubelet certificate
from the supervisor, register the Node, and run kwok as the node's kubelet. READY=1 only once all
of that worked; until then it retries forever, logging K3s's own error lines (RKE2's agent is K3s's
agent code, so its lines are the same with rke2 in the names)."""

from __future__ import annotations

import base64
import contextlib
import http.client
import json
import os
import signal
import socket
import ssl
import threading
import urllib.parse
from pathlib import Path

import node as nodes
import pki
import strict
import tokens
from common import (
    BIN_DIR,
    COMMIT,
    PAYLOAD_DIR,
    VERSION,
    Child,
    default_ipv4,
    error,
    fatal,
    info,
    kill_leftovers,
    sd_notify,
    warn,
)
from flavour import FLAVOUR
from kube import ApiError, Kube

NAME = FLAVOUR.name


class HTTPFailure(Exception):
    pass


def _get(
    host: str,
    port: int,
    path: str,
    context: ssl.SSLContext,
    auth: tuple[str, str] | None = None,
    headers: dict | None = None,
) -> bytes:
    url = f"https://{host}:{port}{path}"
    try:
        conn = http.client.HTTPSConnection(host, port, context=context, timeout=10)
        hdrs = dict(headers or {})
        if auth:
            hdrs["Authorization"] = "Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        conn.request("GET", path, headers=hdrs)
        resp = conn.getresponse()
        body = resp.read()
        conn.close()
    except ConnectionResetError:
        raise HTTPFailure(f'Get "{url}": read: connection reset by peer') from None
    except ConnectionRefusedError:
        raise HTTPFailure(f'Get "{url}": dial tcp {host}:{port}: connect: connection refused') from None
    except TimeoutError:
        raise HTTPFailure(f'Get "{url}": context deadline exceeded') from None
    except (OSError, http.client.HTTPException) as exc:
        raise HTTPFailure(f'Get "{url}": {exc}') from None
    if not 200 <= resp.status <= 299:
        text = body.decode(errors="replace").strip()
        raise HTTPFailure(f"{url}: {resp.status} {resp.reason}" + (f" {text}" if resp.status == 403 else ""))
    return body


class LoadBalancer:
    """The agent's client-side load balancer: 127.0.0.1:<lb-server-port> -> the server's supervisor
    (K3s: 6443, which is the apiserver too); RKE2 adds one on <lb-server-port - 1> to its 6443."""

    def __init__(self, name: str, port: int, backend: tuple[str, int]):
        self.backend = backend
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self.sock.bind(("127.0.0.1", port))
        except OSError:
            fatal(f"failed to start load balancer {name}: listen tcp 127.0.0.1:{port}: bind: address already in use")
        info(f"Running load balancer {name} 127.0.0.1:{port} -> [{backend[0]}:{backend[1]}]")
        self.sock.listen(64)
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _peer = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket):
        try:
            upstream = socket.create_connection(self.backend, timeout=5)
        except OSError:
            client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            client.close()
            return
        upstream.settimeout(None)

        def pump(src, dst):
            try:
                while data := src.recv(65536):
                    dst.sendall(data)
            except OSError:
                pass
            finally:
                for s in (src, dst):
                    with contextlib.suppress(OSError):
                        s.shutdown(socket.SHUT_RDWR)

        threading.Thread(target=pump, args=(upstream, client), daemon=True).start()
        pump(client, upstream)
        client.close()
        upstream.close()

    def close(self):
        self.sock.close()


class Agent:
    def __init__(self, parsed):
        self.p = parsed
        self.data_dir = Path(parsed.get("data-dir") or FLAVOUR.data_dir).resolve()
        self.agent_dir = self.data_dir / "agent"
        self.server = (parsed.get("server") or "").rstrip("/")
        ips = nodes.split_list(parsed.list("node-ip"))
        self.node_ips = ips or [default_ipv4()]
        self.external_ips = nodes.split_list(parsed.list("node-external-ip"))
        self.node_name = nodes.node_name(parsed.get("node-name") or "", bool(parsed.get("with-node-id")))
        self.stopping = threading.Event()
        self.children: list[Child] = []
        self.lbs: list[LoadBalancer] = []

    def stop(self, *_args):
        self.stopping.set()

    def sleep(self, seconds: float) -> None:
        if self.stopping.wait(seconds):
            self.shutdown()
            raise SystemExit(0)

    def shutdown(self):
        info(f"Shutting down {NAME} agent")
        for child in reversed(self.children):
            child.stop()
        for lb in self.lbs:
            lb.close()

    def read_token(self) -> str:
        try:
            return self.p.secret("token")
        except OSError as exc:
            fatal(f"open {exc.filename}: {exc.strerror.lower() if exc.strerror else exc}")
            raise

    # --- join -------------------------------------------------------------------

    def lb_port(self) -> int:
        return int(self.p.get("lb-server-port") or 6444)

    def supervisor(self) -> tuple[str, int]:
        if self.lbs:
            return "127.0.0.1", self.lb_port()
        url = urllib.parse.urlsplit(self.server)
        return url.hostname or "", url.port or FLAVOUR.supervisor_port

    def apiserver(self) -> tuple[str, int]:
        """Where the kubelet (kwok) reaches the API: K3s's supervisor fronts it, RKE2's has its own LB."""
        if FLAVOUR.api_public:
            return "127.0.0.1", self.lb_port() - 1
        return self.supervisor()

    def validate(self, token: str) -> tuple[bytes, str]:
        """clientaccess.ParseAndValidateToken, retried every 2 s as the real agent does."""
        while True:
            try:
                parsed = tokens.parse(token)
                host, port = self.supervisor()
                try:
                    cacerts = _get(host, port, "/cacerts", ssl._create_unverified_context())
                except HTTPFailure as exc:
                    raise HTTPFailure(f"failed to get CA certs: {exc}") from None
                if parsed.ca_hash and parsed.ca_hash != tokens.ca_hash(cacerts):
                    raise HTTPFailure(
                        "token CA hash does not match the Cluster CA certificate hash: "
                        f"{parsed.ca_hash} != {tokens.ca_hash(cacerts)}"
                    )
                if not parsed.ca_hash:
                    warn(
                        "Cluster CA certificate is not trusted by the host CA bundle, but the token does not include "
                        "a CA hash. Use the full token from the server's node-token file to enable Cluster CA "
                        "validation."
                    )
                context = ssl.create_default_context(cadata=cacerts.decode())
                try:
                    _get(host, port, "/cacerts", context)
                except HTTPFailure as exc:
                    raise HTTPFailure(f"CA cert validation failed: {exc}") from None
                return cacerts, parsed.password
            except (HTTPFailure, tokens.TokenError) as exc:
                error(f"Failed to validate connection to cluster at {self.server}: {exc}")
                self.sleep(2)

    def retrieve(self, cacerts: bytes, password: str, node_password: str) -> None:
        """config.Get: /v1-k3s/config (/v1-rke2/config), then the kubelet's certificates; retried every 5 s."""
        context = ssl.create_default_context(cadata=cacerts.decode())
        host, port = self.supervisor()
        api = FLAVOUR.api_prefix
        headers = {
            f"{FLAVOUR.header}-Node-Name": self.node_name,
            f"{FLAVOUR.header}-Node-Password": node_password,
            f"{FLAVOUR.header}-Node-IP": ",".join(self.node_ips),
        }
        while True:
            try:
                try:
                    config = _get(host, port, f"{api}/config", context, ("node", password))
                except HTTPFailure as exc:
                    raise HTTPFailure(f"failed to retrieve configuration from server: {exc}") from None
                try:
                    serving = _get(host, port, f"{api}/serving-kubelet.crt", context, ("node", password), headers)
                except HTTPFailure as exc:
                    text = str(exc)
                    if " 403 " in text:
                        text = text.split(" 403 Forbidden ", 1)[-1]
                    raise HTTPFailure(f"{self.agent_dir / 'serving-kubelet.crt'}: {text}") from None
                client = _get(host, port, f"{api}/client-kubelet.crt", context, ("node", password), headers)
                self.config = json.loads(config)
                break
            except HTTPFailure as exc:
                info(f"Waiting to retrieve agent configuration; server is not ready: {exc}")
                self.sleep(5)
        self.agent_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.agent_dir, 0o700)
        for name, blob in (("client-kubelet", client), ("serving-kubelet", serving)):
            text = blob.decode()
            marker = text.index("-----BEGIN PRIVATE KEY-----")
            pki.write_private_text(self.agent_dir / f"{name}.key", text[marker:])
            pki.write_public_text(self.agent_dir / f"{name}.crt", text[:marker])
        pki.write_public_text(self.agent_dir / "server-ca.crt", cacerts.decode())
        pki.write_public_text(self.agent_dir / "client-ca.crt", cacerts.decode())
        api_host, api_port = self.apiserver()
        pki.write_private_text(
            self.agent_dir / "kubelet.kubeconfig",
            pki.kubeconfig_files(
                f"https://{api_host}:{api_port}",
                self.agent_dir / "server-ca.crt",
                self.agent_dir / "client-kubelet.crt",
                self.agent_dir / "client-kubelet.key",
            ),
        )

    # --- the node ---------------------------------------------------------------

    def annotations(self) -> dict[str, str]:
        return nodes.annotations("agent", self.p.cli_args, self.p.values, self.node_ips, self.external_ips)

    def kubelet_args(self, labels: dict, taints: list[dict]) -> list[str]:
        args = {
            "address": "0.0.0.0",
            "anonymous-auth": "false",
            "authentication-token-webhook": "true",
            "authorization-mode": "Webhook",
            "client-ca-file": str(self.agent_dir / "client-ca.crt"),
            "cluster-dns": self.config.get("ClusterDNS", "10.43.0.10"),
            "cluster-domain": self.config.get("ClusterDomain", "cluster.local"),
            "hostname-override": self.node_name,
            "kubeconfig": str(self.agent_dir / "kubelet.kubeconfig"),
            "node-ip": ",".join(self.node_ips),
            "node-labels": ",".join(f"{k}={v}" for k, v in labels.items()),
            "tls-cert-file": str(self.agent_dir / "serving-kubelet.crt"),
            "tls-private-key-file": str(self.agent_dir / "serving-kubelet.key"),
        }
        if taints:
            args["register-with-taints"] = ",".join(
                f"{t['key']}={t.get('value', '')}:{t['effect']}" if t.get("value") else f"{t['key']}:{t['effect']}"
                for t in taints
            )
        for item in nodes.split_list(self.p.list("kubelet-arg")):
            key, sep, value = item.lstrip("-").partition("=")
            args[key] = value if sep else "true"
        return [f"--{k}={v}" for k, v in args.items()]

    def run(self) -> None:
        token = self.read_token()
        secrets_seen = [token]
        with contextlib.suppress(tokens.TokenError):
            secrets_seen.append(tokens.parse(token).password)
        strict.check_all(self.p, [s for s in secrets_seen if s])
        if not token and not (self.agent_dir / "client-kubelet.crt").exists():
            fatal("--token is required")
        if not self.server:
            fatal("--server is required")
        url = urllib.parse.urlsplit(self.server)
        if url.scheme != "https":
            fatal(f"only https:// URLs are supported, invalid scheme: {self.server}")
        info(f"Starting {NAME} agent {VERSION} ({COMMIT})")
        problem = nodes.profile_problem("agent", self.p.get("profile") or "")
        if problem:
            fatal(problem)
        kill_leftovers(self.data_dir, "agent")
        docker = bool(self.p.get("docker"))
        if docker and not Path("/var/run/docker.sock").exists():
            fatal(
                "failed to start container runtime: cri-dockerd: Cannot connect to the Docker daemon at "
                "unix:///var/run/docker.sock. Is the docker daemon running? (docker: true needs Docker on the node)"
            )
        signal.signal(signal.SIGTERM, self.stop)
        signal.signal(signal.SIGINT, self.stop)
        if not self.p.get("disable-apiserver-lb"):
            host = url.hostname or ""
            backend = (host, url.port or FLAVOUR.supervisor_port)
            self.lbs.append(LoadBalancer(f"{NAME}-agent-load-balancer", self.lb_port(), backend))
            if FLAVOUR.api_public:
                name = f"{NAME}-api-server-agent-load-balancer"
                self.lbs.append(LoadBalancer(name, self.lb_port() - 1, (host, FLAVOUR.api_port)))
        nodes.kubectl_in_data_dir(self.data_dir)
        node_password = nodes.node_password()
        cacerts, password = self.validate(token)
        self.retrieve(cacerts, password, node_password)
        if self.p.get("default-runtime"):
            info(f"Default runtime set to {self.p.get('default-runtime')}")
        nodes.write_containerd_config(
            self.agent_dir, self.p.get("default-runtime") or "", self.p.get("snapshotter") or "overlayfs", docker
        )
        nodes.check_airgap_images(self.agent_dir)
        try:
            labels = nodes.parse_labels(nodes.split_list(self.p.list("node-label")))
            taints = nodes.parse_taints(nodes.split_list(self.p.list("node-taint")))
        except nodes.KubeletError as exc:
            nodes.kubelet_refused(exc)
        info(f"Running kubelet {' '.join(self.kubelet_args(labels, taints))} (stand-in: kwok plays the kubelet)")
        host, port = self.apiserver()
        kube = Kube(
            host,
            port,
            self.agent_dir / "server-ca.crt",
            self.agent_dir / "client-kubelet.crt",
            self.agent_dir / "client-kubelet.key",
        )
        status = nodes.node_status(
            self.node_name,
            self.node_ips,
            self.external_ips,
            nodes.runtime_version(docker, self.p.get("container-runtime-endpoint") or ""),
        )
        while True:
            try:
                nodes.register(kube, self.node_name, labels, taints, self.annotations(), status)
                break
            except (ApiError, OSError) as exc:
                error(f"Unable to register node {self.node_name} with API server: {exc}")
                self.sleep(5)
        cidr = ""
        for _attempt in range(40):
            cidr = nodes.pod_cidr(kube, self.node_name)
            if cidr:
                break
            self.sleep(0.5)
        kwok = Child(
            "kwok",
            [
                str(BIN_DIR / "kwok"),
                f"--kubeconfig={self.agent_dir / 'kubelet.kubeconfig'}",
                f"--config={PAYLOAD_DIR / 'kwok' / 'stages.yaml'}",
                f"--manage-single-node={self.node_name}",
                "--node-lease-duration-seconds=40",
                f"--node-ip={self.node_ips[0]}",
                f"--cidr={cidr or self.config.get('ClusterIPRange', '10.42.0.0/16')}",
            ],
            self.agent_dir / "logs" / "kwok.log",
            "agent",
        )
        kwok.start()
        self.children.append(kwok)
        sd_notify("READY=1\n")
        info(f"{NAME} agent is up and running")
        reachable = True
        tick = 0
        while True:
            self.sleep(2)
            if not kwok.alive():
                fatal(f"kubelet exited: stand-in kubelet (kwok) stopped; last log lines:\n{kwok.tail()}")
            with contextlib.suppress(ApiError, OSError):
                nodes.report_gpus(kube, self.node_name)
            tick += 1
            if tick % 5:
                continue
            try:
                _get(url.hostname or "", url.port or FLAVOUR.supervisor_port, "/ping", ssl._create_unverified_context())
                if not reachable:
                    info(f"Connected to server {self.server} again")
                reachable = True
            except HTTPFailure as exc:
                if reachable:
                    error(f"Failed to connect to server {self.server}: {exc}; retrying")
                reachable = False


def run(parsed) -> None:
    agent = Agent(parsed)
    try:
        agent.run()
    except SystemExit:
        for child in reversed(agent.children):
            child.stop(5)
        raise
