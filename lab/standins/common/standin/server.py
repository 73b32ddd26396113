"""``k3s server`` / ``rke2 server``: a real control plane (etcd, kube-apiserver,
kube-controller-manager, kube-scheduler), the supervisor (K3s: on 6443 in front of the apiserver;
RKE2: on 9345, the apiserver on 6443 itself), the node's own Node object, and kwok as its kubelet."""

from __future__ import annotations

import base64
import contextlib
import grp
import hashlib
import hmac
import http.client
import json
import os
import secrets
import signal
import ssl
import threading
import time
import urllib.parse
from pathlib import Path

import node as nodes
import pki
import strict
import supervisor
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
    hostname,
    info,
    kill_leftovers,
    node_ipv4s,
    port_free,
    sd_notify,
    warn,
)
from flavour import FLAVOUR, RKE2_CNI, RKE2_INGRESS
from kube import ApiError, Kube

NAME = FLAVOUR.name
API = FLAVOUR.api_prefix
API_PORT = FLAVOUR.api_port
STANDIN_ROLE = f"{NAME}-stand-in:kubelet"
ETCD_CLIENT, ETCD_PEER = 2379, 2380
PREFIX = "starting kubernetes: preparing server: "
NORMALIZE = "failed to normalize server token; must be in format K10<CA-HASH>::<USERNAME>:<PASSWORD> or <PASSWORD>"


def _split(values) -> list[str]:
    return nodes.split_list(values or [])


def _arg_map(defaults: dict[str, str], extra: list[str]) -> list[str]:
    """K3s's *-arg handling: a user flag replaces the default of the same name."""
    args = dict(defaults)
    for item in extra:
        key, sep, value = item.lstrip("-").partition("=")
        args[key] = value if sep else "true"
    return [f"--{k}={v}" for k, v in args.items()]


class Server:
    def __init__(self, parsed):
        self.p = parsed
        self.data_dir = Path(parsed.get("data-dir") or FLAVOUR.data_dir).resolve()
        self.sdir = self.data_dir / "server"
        self.tls = self.sdir / "tls"
        self.cred = self.sdir / "cred"
        self.logs = self.sdir / "logs"
        self.agent_dir = self.data_dir / "agent"
        self.join_url = (parsed.get("server") or "").rstrip("/")
        self.cluster_init = FLAVOUR.etcd_always or bool(parsed.get("cluster-init"))
        self.port = int(parsed.get("https-listen-port") or FLAVOUR.supervisor_port)
        self.bind = parsed.get("bind-address") or "0.0.0.0"
        # K3s: the apiserver on loopback behind the supervisor; RKE2: on bind-address itself.
        self.api_bind = self.bind if FLAVOUR.api_public else "127.0.0.1"
        self.api_local = "127.0.0.1" if self.api_bind in ("0.0.0.0", "::", "127.0.0.1") else self.api_bind
        ips = _split(parsed.list("node-ip"))
        self.node_ips = ips or [default_ipv4()]
        self.node_ip = self.node_ips[0]
        self.external_ips = _split(parsed.list("node-external-ip"))
        self.node_name = nodes.node_name(parsed.get("node-name") or "", bool(parsed.get("with-node-id")))
        self.disable_agent = bool(parsed.get("disable-agent"))
        self.children: list[Child] = []
        self.stopping = threading.Event()
        self.api_ready = threading.Event()
        self.server_secret = ""
        self.agent_secret = ""
        self.admin: Kube | None = None
        self.etcd_mode = False
        self.lock = threading.Lock()

    # --- paths --------------------------------------------------------------------

    def t(self, name: str) -> Path:
        return self.tls / name

    @property
    def etcd_dir(self) -> Path:
        return self.sdir / "db" / "etcd"

    # --- tokens -------------------------------------------------------------------

    def _token_value(self, key: str, what: str) -> str:
        try:
            return self.p.secret(key)
        except OSError as exc:
            fatal(f"{PREFIX}failed to read {what} file {exc.filename}: {exc}")
            raise

    def _given_token(self) -> str:
        return self._token_value("token", "token")

    def _agent_token(self) -> str:
        return self._token_value("agent-token", "agent token")

    def resolve_tokens(self, given: str) -> None:
        token_path = self.sdir / "token"
        stored = token_path.read_text().strip() if token_path.exists() else ""
        ca_pem = self.t("server-ca.crt").read_bytes()
        if given:
            try:
                parsed = tokens.parse(given)
            except tokens.TokenError:
                fatal(f"{PREFIX}{NORMALIZE}")
            if parsed.bootstrap:
                fatal(f"{PREFIX}{NORMALIZE}")
            if parsed.ca_hash and parsed.ca_hash != tokens.ca_hash(ca_pem):
                fatal(
                    f"{PREFIX}token CA hash does not match the Cluster CA certificate hash: "
                    f"{parsed.ca_hash} != {tokens.ca_hash(ca_pem)}"
                )
            secret = parsed.password
        else:
            secret = ""
        if stored:
            stored_secret = tokens.parse(stored).password
            if secret and not hmac.compare_digest(secret, stored_secret):
                fatal(
                    f"{PREFIX}failed to bootstrap cluster data: "
                    "bootstrap data already found and encrypted with different token"
                )
            secret = stored_secret
        if not secret:
            secret = secrets.token_hex(16)
        self.server_secret = secret
        agent = self._agent_token()
        self.agent_secret = tokens.parse(agent).password if agent else secret
        full = tokens.full(ca_pem, "server", secret)
        pki.write_private_text(token_path, full + "\n")
        for link in ("node-token", "agent-token"):
            path = self.sdir / link
            if path.is_symlink() or path.exists():
                path.unlink()
        (self.sdir / "node-token").symlink_to("token")
        if agent:
            pki.write_private_text(self.sdir / "agent-token", tokens.full(ca_pem, "node", self.agent_secret) + "\n")
        else:
            (self.sdir / "agent-token").symlink_to("token")

    def authenticate(self, user: str, password: str) -> str | None:
        if user == "server" and self.server_secret and hmac.compare_digest(password, self.server_secret):
            return "server"
        if user == "node" and any(
            s and hmac.compare_digest(password, s) for s in (self.agent_secret, self.server_secret)
        ):
            return "node"
        return None

    # --- PKI ----------------------------------------------------------------------

    def sans(self) -> list[str]:
        names = {"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc"}
        names.add("kubernetes.default.svc." + (self.p.get("cluster-domain") or "cluster.local"))
        names.add(hostname())
        names.add(self.node_name)
        ips = {"127.0.0.1", "::1", *node_ipv4s(), *self.node_ips, *self.external_ips}
        service_cidr = (self.p.get("service-cidr") or "10.43.0.0/16").split(",")[0]
        base = service_cidr.split("/")[0].rsplit(".", 1)[0]
        ips.add(base + ".1")
        for san in _split(self.p.list("tls-san")):
            (ips if san.replace(".", "").isdigit() or ":" in san else names).add(san)
        return [f"DNS:{n}" for n in sorted(names)] + [f"IP:{i}" for i in sorted(ips)]

    def ensure_pki(self) -> None:
        self.tls.mkdir(parents=True, exist_ok=True)
        os.chmod(self.sdir, 0o700)
        t = self.t
        created = pki.ensure_ca(t("server-ca.crt"), t("server-ca.key"), f"{NAME}-server-ca")
        pki.ensure_ca(t("client-ca.crt"), t("client-ca.key"), f"{NAME}-client-ca")
        pki.ensure_ca(t("request-header-ca.crt"), t("request-header-ca.key"), f"{NAME}-request-header-ca")
        pki.ensure_ca(t("etcd/server-ca.crt"), t("etcd/server-ca.key"), "etcd-server-ca")
        pki.ensure_ca(t("etcd/peer-ca.crt"), t("etcd/peer-ca.key"), "etcd-peer-ca")
        if created:
            info("Generated new cluster certificate authorities in " + str(self.tls))
        pki.ensure_sa_key(t("service.key"))
        ca, cak = t("server-ca.crt"), t("server-ca.key")
        cca, ccak = t("client-ca.crt"), t("client-ca.key")
        pki.ensure_cert(
            t("serving-kube-apiserver.crt"),
            t("serving-kube-apiserver.key"),
            ca,
            cak,
            "kube-apiserver",
            sans=self.sans(),
            server=True,
            client=False,
        )
        for name, cn, orgs in (
            ("client-admin", "system:admin", ["system:masters"]),
            ("client-supervisor", f"system:{NAME}-supervisor", ["system:masters"]),
            ("client-controller", "system:kube-controller-manager", []),
            ("client-scheduler", "system:kube-scheduler", []),
            ("client-kube-apiserver", "system:apiserver", ["system:masters"]),
        ):
            pki.ensure_cert(t(f"{name}.crt"), t(f"{name}.key"), cca, ccak, cn, orgs)
        pki.ensure_cert(
            t("client-auth-proxy.crt"),
            t("client-auth-proxy.key"),
            t("request-header-ca.crt"),
            t("request-header-ca.key"),
            "system:auth-proxy",
        )
        etcd_sans = [f"IP:{i}" for i in sorted({"127.0.0.1", *self.node_ips, *node_ipv4s()})]
        etcd_sans += ["DNS:localhost", f"DNS:{hostname()}"]
        pki.ensure_cert(
            t("etcd/server-client.crt"),
            t("etcd/server-client.key"),
            t("etcd/server-ca.crt"),
            t("etcd/server-ca.key"),
            "etcd-server",
            sans=etcd_sans,
            server=True,
            client=True,
        )
        pki.ensure_cert(
            t("etcd/peer-server-client.crt"),
            t("etcd/peer-server-client.key"),
            t("etcd/peer-ca.crt"),
            t("etcd/peer-ca.key"),
            "etcd-peer",
            sans=etcd_sans,
            server=True,
            client=True,
        )
        pki.ensure_cert(
            t("etcd/client.crt"), t("etcd/client.key"), t("etcd/server-ca.crt"), t("etcd/server-ca.key"), "etcd-client"
        )
        self.cred.mkdir(parents=True, exist_ok=True)
        local = f"https://{self.api_local}:{API_PORT}"
        for name, cert in (
            ("admin", "client-admin"),
            ("supervisor", "client-supervisor"),
            ("controller", "client-controller"),
            ("scheduler", "client-scheduler"),
        ):
            pki.write_private_text(
                self.cred / f"{name}.kubeconfig",
                pki.kubeconfig_files(local, ca, t(f"{cert}.crt"), t(f"{cert}.key")),
            )

    # --- HA: joining an existing server -------------------------------------------

    def _join_request(self, method: str, path: str, body: dict | None = None):
        url = urllib.parse.urlsplit(self.join_url)
        context = ssl.create_default_context(cadata=self.join_ca.decode())
        conn = http.client.HTTPSConnection(
            url.hostname, url.port or FLAVOUR.supervisor_port, context=context, timeout=30
        )
        auth = base64.b64encode(f"server:{self.join_secret}".encode()).decode()
        headers = {"Authorization": f"Basic {auth}", "Content-Type": "application/json"}
        conn.request(method, path, body=json.dumps(body).encode() if body else None, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        conn.close()
        if resp.status != 200:
            detail = "" if resp.status == 401 else " " + data.decode(errors="replace").strip()
            raise RuntimeError(f"{self.join_url}{path}: {resp.status} {resp.reason}{detail}")
        return json.loads(data)

    def join_bootstrap(self, given: str) -> None:
        """Fetch the cluster's CAs and keys from the server we join (/v1-k3s/server-bootstrap, /v1-rke2/...)."""
        if not given:
            fatal(f"{PREFIX}token is required to join a cluster (server: {self.join_url})")
        try:
            token = tokens.parse(given)
        except tokens.TokenError as exc:
            fatal(f"{PREFIX}failed to normalize server token: {exc}")
        url = urllib.parse.urlsplit(self.join_url)
        if url.scheme != "https":
            fatal(f"{PREFIX}only https:// URLs are supported, invalid scheme: {self.join_url}")
        try:
            insecure = ssl._create_unverified_context()
            conn = http.client.HTTPSConnection(
                url.hostname, url.port or FLAVOUR.supervisor_port, context=insecure, timeout=10
            )
            conn.request("GET", "/cacerts")
            resp = conn.getresponse()
            self.join_ca = resp.read()
            conn.close()
            if resp.status != 200:
                raise RuntimeError(f"{self.join_url}/cacerts: {resp.status} {resp.reason}")
        except (OSError, RuntimeError, http.client.HTTPException) as exc:
            fatal(f'{PREFIX}failed to get CA certs: Get "{self.join_url}/cacerts": {exc}')
        if token.ca_hash and token.ca_hash != tokens.ca_hash(self.join_ca):
            fatal(
                f"{PREFIX}token CA hash does not match the Cluster CA certificate hash: "
                f"{token.ca_hash} != {tokens.ca_hash(self.join_ca)}"
            )
        self.join_secret = token.password
        try:
            bootstrap = self._join_request("GET", f"{API}/server-bootstrap")
        except (OSError, RuntimeError, http.client.HTTPException) as exc:
            fatal(f"{PREFIX}failed to get bootstrap data: {exc}")
        for name, b64 in bootstrap["files"].items():
            path = self.tls / name
            data = base64.b64decode(b64)
            if path.exists() and path.read_bytes() != data:
                fatal(
                    f"{PREFIX}{path} newer than datastore and could cause a cluster outage. "
                    "Remove the file(s) from disk and restart to be recreated from datastore."
                )
            pki._write_private(path, data) if name.endswith(".key") else pki._write_public(path, data)
        if not bootstrap.get("etcd"):
            fatal(
                f"{PREFIX}failed to get etcd member list from {self.join_url}: the server was started without "
                "cluster-init and runs no embedded etcd (stand-in: only cluster-init servers can be joined)"
            )
        self.bootstrap = bootstrap

    def join_etcd(self, name: str) -> str:
        peer = f"https://{self.node_ip}:{ETCD_PEER}"
        info(f"Adding member {name}={peer} to etcd cluster at {self.join_url}")
        try:
            result = self._join_request("POST", f"{API}/stand-in/etcd-member-add", {"name": name, "peerURL": peer})
        except (OSError, RuntimeError, http.client.HTTPException) as exc:
            fatal(f"{PREFIX}failed to join etcd cluster: {exc}")
        self.member_id = result["id"]
        return result["initialCluster"]

    def promote_when_synced(self) -> None:
        def loop():
            while not self.stopping.is_set():
                try:
                    self._join_request("POST", f"{API}/stand-in/etcd-member-promote", {"id": self.member_id})
                    info(f"Promoted etcd learner {self.member_id} to voting member")
                    return
                except (OSError, RuntimeError, http.client.HTTPException):
                    time.sleep(3)

        threading.Thread(target=loop, daemon=True).start()

    # --- etcd ---------------------------------------------------------------------

    def etcd_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=str(self.t("etcd/server-ca.crt")))
        context.load_cert_chain(str(self.t("etcd/client.crt")), str(self.t("etcd/client.key")))
        return context

    def etcd_call(self, path: str, body: dict) -> dict:
        conn = http.client.HTTPSConnection("127.0.0.1", ETCD_CLIENT, context=self.etcd_context(), timeout=10)
        conn.request("POST", path, body=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
        resp = conn.getresponse()
        data = resp.read()
        conn.close()
        if resp.status != 200:
            raise RuntimeError(f"etcd {path}: {resp.status} {data.decode(errors='replace')}")
        return json.loads(data)

    def etcd_healthy(self) -> bool:
        try:
            conn = http.client.HTTPSConnection("127.0.0.1", ETCD_CLIENT, context=self.etcd_context(), timeout=3)
            conn.request("GET", "/health")
            ok = b'"health":"true"' in conn.getresponse().read()
            conn.close()
            return ok
        except (OSError, http.client.HTTPException):
            return False

    def start_etcd(self, joining: bool) -> None:
        db = self.sdir / "db"
        legacy = db / "state.db.stand-in"
        if self.cluster_init and legacy.is_dir() and not self.etcd_dir.exists():
            info("Migrating content from sqlite to etcd (stand-in: the datastore directory is renamed)")
            legacy.rename(self.etcd_dir)
        data = self.etcd_dir if self.etcd_mode else legacy
        data.mkdir(parents=True, exist_ok=True)
        os.chmod(data, 0o700)
        name_file = data / "name"
        if not name_file.exists():
            name_file.write_text(f"{hostname()}-{secrets.token_hex(4)}")
        name = name_file.read_text().strip()
        fresh = not (data / "member").is_dir()
        peer = f"https://{self.node_ip}:{ETCD_PEER}"
        state, cluster = "new", f"{name}={peer}"
        if fresh and joining:
            cluster = self.join_etcd(name)
            state = "existing"
        t = self.t
        defaults = {
            "name": name,
            "data-dir": str(data),
            "listen-client-urls": f"https://127.0.0.1:{ETCD_CLIENT},https://{self.node_ip}:{ETCD_CLIENT}",
            "advertise-client-urls": f"https://{self.node_ip}:{ETCD_CLIENT}",
            "listen-peer-urls": f"https://127.0.0.1:{ETCD_PEER},https://{self.node_ip}:{ETCD_PEER}",
            "initial-advertise-peer-urls": peer,
            "initial-cluster": cluster,
            "initial-cluster-state": state,
            "listen-metrics-urls": "http://127.0.0.1:2381",
            "client-cert-auth": "true",
            "trusted-ca-file": str(t("etcd/server-ca.crt")),
            "cert-file": str(t("etcd/server-client.crt")),
            "key-file": str(t("etcd/server-client.key")),
            "peer-client-cert-auth": "true",
            "peer-trusted-ca-file": str(t("etcd/peer-ca.crt")),
            "peer-cert-file": str(t("etcd/peer-server-client.crt")),
            "peer-key-file": str(t("etcd/peer-server-client.key")),
            "heartbeat-interval": "500",
            "election-timeout": "5000",
            "snapshot-count": "10000",
            "logger": "zap",
            "log-outputs": "stderr",
        }
        argv = [str(BIN_DIR / "etcd"), *_arg_map(defaults, _split(self.p.list("etcd-arg")))]
        self.spawn("etcd", argv)
        if state == "existing":
            self.promote_when_synced()
        info("Waiting for etcd server to become available")

    # --- control plane ------------------------------------------------------------

    def spawn(self, name: str, argv: list[str]) -> Child:
        child = Child(name, argv, self.logs / f"{name}.log", "server")
        info(f"Running {name} {' '.join(argv[1:])} (log: {child.logfile})")
        child.start()
        self.children.append(child)
        return child

    def start_apiserver(self) -> None:
        t = self.t
        cidr = self.p.get("service-cidr") or "10.43.0.0/16"
        domain = self.p.get("cluster-domain") or "cluster.local"
        defaults = {
            "advertise-address": self.node_ip,
            "allow-privileged": "true",
            "anonymous-auth": "false",
            "api-audiences": f"https://kubernetes.default.svc.{domain},{NAME}",
            "authorization-mode": "Node,RBAC",
            "bind-address": self.api_bind,
            "secure-port": str(API_PORT),
            "client-ca-file": str(t("client-ca.crt")),
            "enable-admission-plugins": "NodeRestriction",
            "etcd-servers": f"https://127.0.0.1:{ETCD_CLIENT}",
            "etcd-cafile": str(t("etcd/server-ca.crt")),
            "etcd-certfile": str(t("etcd/client.crt")),
            "etcd-keyfile": str(t("etcd/client.key")),
            "kubelet-client-certificate": str(t("client-kube-apiserver.crt")),
            "kubelet-client-key": str(t("client-kube-apiserver.key")),
            "profiling": "false",
            "proxy-client-cert-file": str(t("client-auth-proxy.crt")),
            "proxy-client-key-file": str(t("client-auth-proxy.key")),
            "requestheader-allowed-names": "system:auth-proxy",
            "requestheader-client-ca-file": str(t("request-header-ca.crt")),
            "requestheader-extra-headers-prefix": "X-Remote-Extra-",
            "requestheader-group-headers": "X-Remote-Group",
            "requestheader-username-headers": "X-Remote-User",
            "service-account-issuer": f"https://kubernetes.default.svc.{domain}",
            "service-account-key-file": str(t("service.key")),
            "service-account-signing-key-file": str(t("service.key")),
            "service-cluster-ip-range": cidr,
            "service-node-port-range": self.p.get("service-node-port-range") or "30000-32767",
            "storage-backend": "etcd3",
            "tls-cert-file": str(t("serving-kube-apiserver.crt")),
            "tls-private-key-file": str(t("serving-kube-apiserver.key")),
        }
        argv = [str(BIN_DIR / "kube-apiserver"), *_arg_map(defaults, _split(self.p.list("kube-apiserver-arg")))]
        self.spawn("kube-apiserver", argv)
        info("Waiting for API server to become available")

    def start_controllers(self) -> None:
        kubeconfig = str(self.cred / "controller.kubeconfig")
        defaults = {
            "allocate-node-cidrs": "true",
            "authentication-kubeconfig": kubeconfig,
            "authorization-kubeconfig": kubeconfig,
            "bind-address": "127.0.0.1",
            "cluster-cidr": self.p.get("cluster-cidr") or "10.42.0.0/16",
            "cluster-signing-cert-file": str(self.t("client-ca.crt")),
            "cluster-signing-key-file": str(self.t("client-ca.key")),
            "configure-cloud-routes": "false",
            "controllers": "*,tokencleaner,-service,-route,-cloud-node-lifecycle",
            "kubeconfig": kubeconfig,
            "leader-elect": "true",
            "profiling": "false",
            "root-ca-file": str(self.t("server-ca.crt")),
            "secure-port": "10257",
            "service-account-private-key-file": str(self.t("service.key")),
            "service-cluster-ip-range": self.p.get("service-cidr") or "10.43.0.0/16",
            "use-service-account-credentials": "true",
        }
        argv = [str(BIN_DIR / "kube-controller-manager")]
        argv += _arg_map(defaults, _split(self.p.list("kube-controller-manager-arg")))
        self.spawn("kube-controller-manager", argv)
        if not self.p.get("disable-scheduler"):
            kubeconfig = str(self.cred / "scheduler.kubeconfig")
            defaults = {
                "authentication-kubeconfig": kubeconfig,
                "authorization-kubeconfig": kubeconfig,
                "bind-address": "127.0.0.1",
                "kubeconfig": kubeconfig,
                "leader-elect": "true",
                "profiling": "false",
                "secure-port": "10259",
            }
            argv = [str(BIN_DIR / "kube-scheduler"), *_arg_map(defaults, _split(self.p.list("kube-scheduler-arg")))]
            self.spawn("kube-scheduler", argv)

    def wait(self, what: str, check, limit: float, child: str | None = None) -> None:
        deadline = time.monotonic() + limit
        while not check():
            if self.stopping.is_set():
                raise SystemExit(0)
            self.check_children()
            if time.monotonic() > deadline:
                tail = next((c.tail() for c in self.children if c.name == child), "")
                fatal(f"{what} did not become ready in {int(limit)}s; last log lines:\n{tail}")
            time.sleep(0.5)

    def check_children(self) -> None:
        for child in self.children:
            if not child.alive() and not self.stopping.is_set():
                code = child.proc.returncode if child.proc else "?"
                fatal(f"{child.name} exited: status {code}; last log lines:\n{child.tail()}")

    # --- kubeconfig, RBAC, the node -----------------------------------------------

    def api_port(self) -> int:
        """The port clients reach the API on: K3s's supervisor port, RKE2's apiserver port."""
        return API_PORT if FLAVOUR.api_public else self.port

    def write_kubeconfig(self) -> None:
        path = Path(self.p.get("write-kubeconfig") or FLAVOUR.kubeconfig)
        host = self.bind if self.bind not in ("0.0.0.0", "::", "") else "127.0.0.1"
        server = f"https://{host}:{self.api_port()}"
        text = pki.kubeconfig_embedded(
            server, self.t("server-ca.crt"), self.t("client-admin.crt"), self.t("client-admin.key")
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        pki.write_private_text(path, text)
        mode = self.p.get("write-kubeconfig-mode") or ""
        if mode:
            try:
                os.chmod(path, int(str(mode), 8))
            except ValueError as exc:
                error(f"Failed to set {path} to mode {mode}: {exc}")
        group = self.p.get("write-kubeconfig-group") or ""
        if group:
            try:
                os.chown(path, -1, grp.getgrnam(group).gr_gid)
            except KeyError:
                error(f"Failed to set {path} to group {group}: unknown group")
        info(f"Wrote kubeconfig {path}")
        if FLAVOUR.multicall:
            info(f"Run: {NAME} kubectl")

    def bootstrap_rbac(self) -> None:
        assert self.admin is not None
        role = {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {"name": STANDIN_ROLE, "labels": {FLAVOUR.annotation("stand-in"): "true"}},
            "rules": [
                {"apiGroups": [""], "resources": ["nodes"], "verbs": ["get", "list", "watch", "patch", "update"]},
                {"apiGroups": [""], "resources": ["nodes/status"], "verbs": ["get", "patch", "update"]},
                {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch", "delete", "patch"]},
                {"apiGroups": [""], "resources": ["pods/status"], "verbs": ["get", "patch", "update"]},
                {"apiGroups": ["", "events.k8s.io"], "resources": ["events"], "verbs": ["create", "patch", "update"]},
                {
                    "apiGroups": ["coordination.k8s.io"],
                    "resources": ["leases"],
                    "verbs": ["get", "list", "watch", "create", "update", "patch"],
                },
            ],
        }
        binding = {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": STANDIN_ROLE, "labels": {FLAVOUR.annotation("stand-in"): "true"}},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": STANDIN_ROLE},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "system:nodes"}],
        }
        self.admin.apply("/apis/rbac.authorization.k8s.io/v1/clusterroles", STANDIN_ROLE, role)
        self.admin.apply("/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", STANDIN_ROLE, binding)

    def check_node_password(self, name: str, password: str) -> str | None:
        """K3s's node-password check: secret <node>.node-password.k3s (.rke2) in kube-system."""
        assert self.admin is not None
        digest = hashlib.sha256(password.encode()).hexdigest()
        path = f"/api/v1/namespaces/kube-system/secrets/{FLAVOUR.node_password_secret(name)}"
        with self.lock:
            secret = self.admin.get_or_none(path)
            if secret is not None:
                stored = base64.b64decode(secret.get("data", {}).get("hash", "")).decode()
                if hmac.compare_digest(stored, digest):
                    return None
                if self.admin.get_or_none(f"/api/v1/nodes/{name}") is not None:
                    return (
                        "Node password rejected, duplicate hostname or contents of '/etc/rancher/node/password' "
                        "may not match server node-passwd entry, try enabling a unique node name with the "
                        "--with-node-id flag"
                    )
                self.admin.request("DELETE", path)
            body = {
                "apiVersion": "v1",
                "kind": "Secret",
                "type": f"{NAME}.cattle.io/node-password",
                "immutable": True,
                "metadata": {"name": FLAVOUR.node_password_secret(name), "namespace": "kube-system"},
                "data": {"hash": base64.b64encode(digest.encode()).decode()},
            }
            try:
                self.admin.create("/api/v1/namespaces/kube-system/secrets", body)
            except ApiError as exc:
                if exc.status != 409:
                    raise
        return None

    def register_own_node(self) -> None:
        assert self.admin is not None
        try:
            labels = nodes.parse_labels(_split(self.p.list("node-label")))
            taints = nodes.parse_taints(_split(self.p.list("node-taint")))
        except nodes.KubeletError as exc:
            nodes.kubelet_refused(exc)
        role = {"node-role.kubernetes.io/control-plane": "true", "node-role.kubernetes.io/master": "true"}
        if self.etcd_mode:
            role["node-role.kubernetes.io/etcd"] = "true"
        rejected = self.check_node_password(self.node_name, nodes.node_password())
        if rejected:
            fatal(f"Waiting to retrieve agent configuration; server is not ready: {rejected}")
        status = nodes.node_status(
            self.node_name,
            self.node_ips,
            self.external_ips,
            nodes.runtime_version(bool(self.p.get("docker")), self.p.get("container-runtime-endpoint") or ""),
        )
        nodes.register(self.admin, self.node_name, labels, taints, self.annotations(), status, role_labels=role)

    def annotations(self) -> dict[str, str]:
        return nodes.annotations("server", self.p.cli_args, self.p.values, self.node_ips, self.external_ips)

    def start_kwok(self) -> None:
        assert self.admin is not None
        cidr = ""
        for _attempt in range(40):
            cidr = nodes.pod_cidr(self.admin, self.node_name)
            if cidr:
                break
            time.sleep(0.5)
        argv = [
            str(BIN_DIR / "kwok"),
            f"--kubeconfig={self.cred / 'supervisor.kubeconfig'}",
            f"--config={PAYLOAD_DIR / 'kwok' / 'stages.yaml'}",
            f"--manage-single-node={self.node_name}",
            "--node-lease-duration-seconds=40",
            f"--node-ip={self.node_ip}",
            f"--cidr={cidr or self.p.get('cluster-cidr') or '10.42.0.0/16'}",
        ]
        self.spawn("kwok", argv)

    # --- packaged components --------------------------------------------------------

    def packaged(self) -> dict[str, str]:
        """Component (a disable item) -> its entry in server/manifests/. RKE2 adds what cni and
        ingress-controller choose."""
        files = {c: f for c, f in FLAVOUR.packaged.items() if f}
        if FLAVOUR.name != "rke2":
            return files
        cnis = _split(self.p.list("cni")) or ["canal"]
        ingress = _split(self.p.list("ingress-controller")) or ["ingress-nginx"]
        for item in cnis:
            if item not in RKE2_CNI or (item == "multus" and cnis[0] != "multus") or (item == "none" and len(cnis) > 1):
                fatal(f"invalid value provided for --cni flag: {','.join(cnis)}")
        for item in ingress:
            if item not in RKE2_INGRESS:
                fatal(f"invalid value provided for --ingress-controller flag: {','.join(ingress)}")
        chosen = [f for item in cnis for f in RKE2_CNI[item]] + [RKE2_INGRESS[i] for i in ingress if RKE2_INGRESS[i]]
        files.update({f.removesuffix(".yaml"): f for f in chosen})
        return files

    def deploy_runtime_classes(self) -> None:
        """The one packaged component the stand-in deploys, not only lists: the RuntimeClasses of
        K3s's runtimes.yaml / RKE2's rke2-runtimeclasses (nvidia among them), unless disabled."""
        assert self.admin is not None
        component = "rke2-runtimeclasses" if FLAVOUR.name == "rke2" else "runtimes"
        if component in set(_split(self.p.list("disable"))):
            return
        for name in nodes.RUNTIME_CLASSES:
            body = {"apiVersion": "node.k8s.io/v1", "kind": "RuntimeClass", "metadata": {"name": name}, "handler": name}
            self.admin.apply("/apis/node.k8s.io/v1/runtimeclasses", name, body)

    def write_manifests(self) -> None:
        """server/manifests/: the packaged components minus those in disable (files only)."""
        manifests = self.sdir / "manifests"
        manifests.mkdir(parents=True, exist_ok=True)
        disabled = set(_split(self.p.list("disable")))
        files = self.packaged()
        for item in disabled - set(FLAVOUR.packaged) - set(files):
            warn(f"Skipping unknown component in disable: {item}")
        for component, name in files.items():
            path = manifests / name
            if component in disabled:
                if path.is_dir():
                    for child in path.iterdir():
                        child.unlink()
                    path.rmdir()
                elif path.exists():
                    path.unlink()
                continue
            text = f"# {component}: packaged {FLAVOUR.display} component (edgeai lab stand-in: listed, not deployed)\n"
            if name.endswith(".yaml"):
                if not path.exists():
                    path.write_text(text)
            else:
                path.mkdir(exist_ok=True)
                (path / "README.stand-in").write_text(text)
        (self.sdir / "disabled-components.stand-in").write_text("\n".join(sorted(disabled)) + "\n")

    # --- the supervisor's owner interface -------------------------------------------

    def server_ca_pem(self) -> bytes:
        return self.t("server-ca.crt").read_bytes()

    def upstream(self):
        with self.lock:
            if not hasattr(self, "_upstream_ctx"):
                context = ssl.create_default_context(cafile=str(self.t("server-ca.crt")))
                context.load_cert_chain(str(self.t("client-auth-proxy.crt")), str(self.t("client-auth-proxy.key")))
                self._upstream_ctx = context
        return self.api_local, API_PORT, self._upstream_ctx

    def supervisor_request(self, method: str, full_path: str, user: str, headers, body: bytes):
        """The supervisor's own API, /v1-k3s/<path> or /v1-rke2/<path>; <path> is what this routes on."""
        t = self.t
        path = full_path.removeprefix(API)
        if path == "/readyz":
            return (
                (200, "ok", "text/plain") if self.api_ready.is_set() else (503, "runtime core not ready", "text/plain")
            )
        if path == "/config":
            return 200, self.agent_config(), "application/json"
        if path in ("/server-ca.crt", "/client-ca.crt"):
            return 200, t(path.rsplit("/", 1)[1]).read_bytes(), "text/plain"
        if path in ("/client-kubelet.crt", "/serving-kubelet.crt"):
            if not self.api_ready.is_set():
                return 503, "runtime core not ready", "text/plain"
            name = headers.get(f"{FLAVOUR.header}-Node-Name", "")
            password = headers.get(f"{FLAVOUR.header}-Node-Password", "")
            if not name or not password:
                return 400, "missing node name or password", "text/plain"
            rejected = self.check_node_password(name, password)
            if rejected:
                return 403, rejected, "text/plain"
            if path.endswith("client-kubelet.crt"):
                cert, key = pki.sign(t("client-ca.crt"), t("client-ca.key"), f"system:node:{name}", ["system:nodes"])
                return 200, cert + t("client-ca.crt").read_bytes() + key, "text/plain"
            ips = [f"IP:{ip}" for ip in headers.get(f"{FLAVOUR.header}-Node-IP", "").split(",") if ip]
            cert, key = pki.sign(
                t("server-ca.crt"), t("server-ca.key"), name, [], [f"DNS:{name}", *ips], server=True, client=False
            )
            return 200, cert + t("server-ca.crt").read_bytes() + key, "text/plain"
        if path == "/apiservers":
            return 200, [f"{self.node_ip}:{self.api_port()}"], "application/json"
        if user != "server":
            return 401, "Unauthorized", "text/plain"
        if path == "/server-bootstrap":
            names = [
                "server-ca.crt",
                "server-ca.key",
                "client-ca.crt",
                "client-ca.key",
                "request-header-ca.crt",
                "request-header-ca.key",
                "etcd/server-ca.crt",
                "etcd/server-ca.key",
                "etcd/peer-ca.crt",
                "etcd/peer-ca.key",
                "service.key",
            ]
            files = {n: base64.b64encode(t(n).read_bytes()).decode() for n in names}
            return 200, {"files": files, "etcd": self.etcd_mode, "agentSecret": self.agent_secret}, "application/json"
        if path == "/stand-in/etcd-member-add" and method == "POST":
            request = json.loads(body or b"{}")
            try:
                result = self.etcd_call("/v3/cluster/member/add", {"peerURLs": [request["peerURL"]], "isLearner": True})
            except (OSError, RuntimeError, KeyError, http.client.HTTPException) as exc:
                return 500, f"etcd member add failed: {exc}", "text/plain"
            parts = []
            for member in result.get("members", []):
                member_name = member.get("name") or request["name"]
                parts.extend(f"{member_name}={u}" for u in member.get("peerURLs", []))
            info(f"Added etcd learner {request['name']} at {request['peerURL']}")
            return 200, {"id": result["member"]["ID"], "initialCluster": ",".join(parts)}, "application/json"
        if path == "/stand-in/etcd-member-promote" and method == "POST":
            request = json.loads(body or b"{}")
            try:
                self.etcd_call("/v3/cluster/member/promote", {"ID": request["id"]})
            except (OSError, RuntimeError, KeyError, http.client.HTTPException) as exc:
                return 409, f"etcd member promote failed: {exc}", "text/plain"
            return 200, {"promoted": request["id"]}, "application/json"
        return 404, "404 page not found", "text/plain"

    def agent_config(self) -> dict:
        return {
            "ClusterDomain": self.p.get("cluster-domain") or "cluster.local",
            "ClusterDNS": self.p.get("cluster-dns") or "10.43.0.10",
            "ClusterIPRange": self.p.get("cluster-cidr") or "10.42.0.0/16",
            "ServiceIPRange": self.p.get("service-cidr") or "10.43.0.0/16",
            "FlannelBackend": self.p.get("flannel-backend") or "vxlan",
            "EgressSelectorMode": self.p.get("egress-selector-mode") or "agent",
            "ServerVersion": VERSION,
            "StandIn": f"edgeai lab {FLAVOUR.display} stand-in",
        }

    # --- run ----------------------------------------------------------------------

    def stop(self, *_args) -> None:
        self.stopping.set()

    def shutdown(self) -> None:
        info(f"Shutting down {NAME} server")
        for child in reversed(self.children):
            child.stop()
        if getattr(self, "supervisor", None) is not None:
            self.supervisor.shutdown()
            self.supervisor.server_close()

    def run(self) -> None:
        given = self._given_token()
        secrets_seen = [s for s in (given, self.p.get("agent-token") or "") if s]
        for s in list(secrets_seen):
            with contextlib.suppress(tokens.TokenError):
                secrets_seen.append(tokens.parse(s).password)
        strict.check_all(self.p, secrets_seen)
        if self.p.get("docker") and not Path("/var/run/docker.sock").exists():
            fatal(
                "failed to start container runtime: cri-dockerd: Cannot connect to the Docker daemon at "
                "unix:///var/run/docker.sock. Is the docker daemon running? (docker: true needs Docker on the node)"
            )
        signal.signal(signal.SIGTERM, self.stop)
        signal.signal(signal.SIGINT, self.stop)
        info(f"Starting {NAME} {VERSION} ({COMMIT})")
        problem = nodes.profile_problem("server", self.p.get("profile") or "")
        if problem:
            fatal(problem)
        self.packaged()  # a bad cni or ingress-controller fails before anything starts
        if self.p.get("default-runtime"):
            info(f"Default runtime set to {self.p.get('default-runtime')}")
        kill_leftovers(self.data_dir, "server")
        for port, host in (
            (self.port, self.bind),
            (API_PORT, self.api_bind),
            (ETCD_CLIENT, "127.0.0.1"),
            (ETCD_PEER, "127.0.0.1"),
            (10257, "127.0.0.1"),
            (10259, "127.0.0.1"),
        ):
            if not port_free(port, host):
                fatal(
                    f"{PREFIX}init cluster datastore and https: listen tcp {host}:{port}: bind: address already in use"
                )
        self.sdir.mkdir(parents=True, exist_ok=True)
        joining = bool(self.join_url) and not (self.etcd_dir / "member").is_dir()
        # Embedded etcd: cluster-init, a joined server, or a datastore that already is etcd.
        self.etcd_mode = self.cluster_init or bool(self.join_url) or (self.etcd_dir / "member").is_dir()
        if self.join_url and not joining:
            info(f"Managed etcd cluster bootstrap already complete and initialized (server: {self.join_url})")
        if joining:
            self.join_bootstrap(given)
            given = given or ""
        self.ensure_pki()
        if joining and self.bootstrap.get("agentSecret"):
            self.resolve_tokens(given)
            self.agent_secret = self.bootstrap["agentSecret"]
        else:
            self.resolve_tokens(given)
        self.supervisor = supervisor.start(
            self.bind,
            self.port,
            supervisor.serving_context(
                self.t("serving-kube-apiserver.crt"), self.t("serving-kube-apiserver.key"), self.t("client-ca.crt")
            ),
            self,
        )
        info(f"Started supervisor on {self.bind}:{self.port} (stand-in: /ping, /cacerts, {API}/*, API front proxy)")
        self.start_etcd(joining)
        self.wait("etcd", self.etcd_healthy, 120, "etcd")
        info("etcd server is now running")
        self.start_apiserver()
        self.admin = Kube(
            self.api_local,
            API_PORT,
            self.t("server-ca.crt"),
            self.t("client-supervisor.crt"),
            self.t("client-supervisor.key"),
        )
        self.wait("kube-apiserver", self.admin.readyz, 180, "kube-apiserver")
        info("Kube API server is now running")
        self.api_ready.set()
        self.bootstrap_rbac()
        self.write_kubeconfig()
        nodes.kubectl_in_data_dir(self.data_dir)
        self.write_manifests()
        self.deploy_runtime_classes()
        self.start_controllers()
        if not self.disable_agent:
            nodes.write_containerd_config(
                self.agent_dir,
                self.p.get("default-runtime") or "",
                self.p.get("snapshotter") or "overlayfs",
                bool(self.p.get("docker")),
            )
            nodes.check_airgap_images(self.agent_dir)
            self.register_own_node()
            self.start_kwok()
        sd_notify("READY=1\n")
        info(f"{NAME} is up and running")
        tick = 0
        while not self.stopping.wait(1):
            self.check_children()
            tick += 1
            if not self.disable_agent and tick % 2 == 0:
                try:
                    nodes.report_gpus(self.admin, self.node_name)
                except (ApiError, OSError) as exc:
                    warn(f"Device plugin stand-in: cannot update node {self.node_name}: {exc}")
        self.shutdown()


def run(parsed) -> None:
    server = Server(parsed)
    try:
        server.run()
    except SystemExit:
        server.stopping.set()
        for child in reversed(server.children):
            child.stop(5)
        raise
    sys_exit_clean()


def sys_exit_clean() -> None:
    raise SystemExit(0)
