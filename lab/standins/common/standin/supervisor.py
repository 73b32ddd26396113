"""The supervisor (/ping, /cacerts, /v1-k3s/... or /v1-rke2/...): K3s's on 6443 in front of the
apiserver on 6444; RKE2's on 9345, beside the apiserver on 6443.

Every other request is forwarded to kube-apiserver as an authenticating front proxy: the client's
certificate is verified against the cluster's client CA here, and its CN and O become
X-Remote-User / X-Remote-Group on a connection that carries the front-proxy client certificate
(kube-apiserver --requestheader-*). Bearer tokens pass through unchanged. Responses stream, so
watches work. A client certificate the client CA did not sign gets 401, as from a real apiserver
(the TLS layer accepts any certificate and the verdict is read afterwards, as Go's
RequestClientCert does).
"""

from __future__ import annotations

import base64
import contextlib
import ctypes
import http.client
import http.server
import json
import socket
import socketserver
import ssl
import sys
import threading
import urllib.parse
from pathlib import Path

from common import GO_VERSION, VERSION, error, warn
from flavour import FLAVOUR

HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
}


class _VerifyHook:
    """Accept any client certificate during the handshake; read OpenSSL's verdict afterwards."""

    def __init__(self, context: ssl.SSLContext):
        self.active = False
        if not (3, 9) <= sys.version_info[:2] <= (3, 13):
            warn("stand-in: unknown Python; client certificates the CA did not sign fail the TLS handshake")
            return
        try:
            libssl = ctypes.CDLL("libssl.so.3")
            libssl.SSL_CTX_set_verify.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p]
            libssl.SSL_CTX_get_verify_mode.argtypes = [ctypes.c_void_p]
            libssl.SSL_get_SSL_CTX.argtypes = [ctypes.c_void_p]
            libssl.SSL_get_SSL_CTX.restype = ctypes.c_void_p
            libssl.SSL_get_verify_result.argtypes = [ctypes.c_void_p]
            libssl.SSL_get_verify_result.restype = ctypes.c_long
            # PySSLContext: PyObject_HEAD, then SSL_CTX *ctx.
            ctx_ptr = ctypes.c_void_p.from_address(id(context) + 16).value
            if libssl.SSL_CTX_get_verify_mode(ctx_ptr) != 1:  # SSL_VERIFY_PEER, set by CERT_OPTIONAL
                raise RuntimeError("unexpected SSL_CTX layout")
            self._callback = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int, ctypes.c_void_p)(lambda ok, store: 1)
            libssl.SSL_CTX_set_verify(ctx_ptr, 1, ctypes.cast(self._callback, ctypes.c_void_p))
            self.libssl, self.ctx_ptr, self.active = libssl, ctx_ptr, True
        except (OSError, AttributeError, RuntimeError) as exc:
            warn(f"stand-in: client certificate verdicts unavailable ({exc}); bad certificates fail the handshake")

    def verified(self, tls: ssl.SSLSocket) -> bool:
        if not self.active:
            return True  # the handshake itself refused certificates the CA did not sign
        sslobj = tls._sslobj  # PySSLSocket: PyObject_HEAD, PyObject *Socket, SSL *ssl
        ssl_ptr = ctypes.c_void_p.from_address(id(sslobj) + 24).value
        if self.libssl.SSL_get_SSL_CTX(ssl_ptr) != self.ctx_ptr:
            return False
        return self.libssl.SSL_get_verify_result(ssl_ptr) == 0


class Identity:
    def __init__(self, verified: bool, cn: str = "", orgs: list[str] | None = None):
        self.verified, self.cn, self.orgs = verified, cn, orgs or []


def _identity(tls: ssl.SSLSocket, hook: _VerifyHook) -> Identity | None:
    if tls.getpeercert(binary_form=True) is None:
        return None
    if not hook.verified(tls):
        return Identity(False)
    cn, orgs = "", []
    for rdn in (tls.getpeercert() or {}).get("subject", ()):
        for key, value in rdn:
            if key == "commonName":
                cn = value
            elif key == "organizationName":
                orgs.append(value)
    return Identity(True, cn, orgs)


class _TLSServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address, handler, context: ssl.SSLContext, owner):
        self.context, self.owner = context, owner
        self.hook = _VerifyHook(context)
        super().__init__(address, handler)

    def finish_request(self, request, client_address):
        # The handshake runs in the connection's own thread, never in the accept loop.
        request.settimeout(10)
        try:
            tls = self.context.wrap_socket(request, server_side=True)
        except (OSError, ssl.SSLError):
            request.close()
            return
        tls.settimeout(None)
        self.RequestHandlerClass(tls, client_address, self)

    def handle_error(self, request, client_address):
        exc = sys.exc_info()[1]
        if not isinstance(exc, (OSError, ssl.SSLError)):
            error(f"stand-in supervisor: request from {client_address[0]} failed: {exc!r}")


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = f"{FLAVOUR.name}-supervisor-stand-in"

    def setup(self):
        super().setup()
        self.identity = _identity(self.request, self.server.hook)
        self.owner = self.server.owner
        self.upstream: http.client.HTTPSConnection | None = None

    def finish(self):
        self._drop_upstream()
        super().finish()

    def log_message(self, format, *args):
        pass

    # --- plumbing ---------------------------------------------------------------

    def reply(self, status: int, body: bytes, content_type: str = "text/plain", headers: dict | None = None):
        self.send_response_only(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def status(self, code: int, message: str, reason: str):
        body = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": message,
            "reason": reason,
            "code": code,
        }
        self.reply(code, json.dumps(body).encode() + b"\n", "application/json")

    def read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            parts = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline().strip():
                        pass
                    break
                parts.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(parts)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def basic_user(self) -> str | None:
        auth = self.headers.get("Authorization", "")
        if not auth.lower().startswith("basic "):
            return None
        try:
            user, _sep, password = base64.b64decode(auth[6:].strip()).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return None
        return self.owner.authenticate(user, password)

    # --- routing ------------------------------------------------------------------

    def route(self):
        try:
            path = urllib.parse.urlsplit(self.path).path
            if path == "/ping" and self.command in ("GET", "HEAD"):
                return self.reply(200, b"pong")
            if path == "/cacerts" and self.command in ("GET", "HEAD"):
                return self.reply(200, self.owner.server_ca_pem())
            if path.startswith((FLAVOUR.api_prefix + "/", "/db/info")):
                return self.supervisor_api(path)
            if "upgrade" in self.headers.get("Connection", "").lower() or self.headers.get("Upgrade"):
                self.read_body()
                return self.status(
                    501,
                    f"the edgeai lab {FLAVOUR.display} stand-in does not proxy connection upgrades (exec, attach, "
                    "port-forward): "
                    "its pods are kwok's simulations, with no container behind them",
                    "NotImplemented",
                )
            return self.proxy()
        except (OSError, ssl.SSLError, http.client.HTTPException):
            self._drop_upstream()
            self.close_connection = True

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = route

    def supervisor_api(self, path: str):
        body = self.read_body()
        user = self.basic_user()
        if user is None and self.identity and self.identity.verified:
            if "system:masters" in self.identity.orgs:
                user = "server"
            elif self.identity.cn.startswith("system:node:"):
                user = "node"
        if user is None:
            peer = f"{self.client_address[0]}:{self.client_address[1]}"
            error(f"Failed to authenticate request from {peer}: invalid username/password combination")
            return self.reply(401, b"Unauthorized\n")
        status, payload, ctype = self.owner.supervisor_request(self.command, path, user, self.headers, body)
        if isinstance(payload, (dict, list)):
            payload, ctype = json.dumps(payload).encode(), "application/json"
        elif isinstance(payload, str):
            payload = payload.encode()
        return self.reply(status, payload, ctype)

    # --- the front proxy ----------------------------------------------------------

    def _drop_upstream(self):
        if self.upstream is not None:
            with contextlib.suppress(OSError):
                self.upstream.close()
            self.upstream = None

    def _connect(self) -> tuple[http.client.HTTPSConnection, bool]:
        if self.upstream is not None:
            return self.upstream, True
        host, port, context = self.owner.upstream()
        self.upstream = http.client.HTTPSConnection(host, port, context=context, timeout=10)
        self.upstream.connect()
        self.upstream.sock.settimeout(None)
        return self.upstream, False

    def proxy(self):
        if self.identity is not None and not self.identity.verified:
            self.read_body()
            return self.status(401, "Unauthorized", "Unauthorized")
        body = self.read_body()
        headers = []
        for key, value in self.headers.items():
            low = key.lower()
            if low in HOP_BY_HOP or low in ("content-length", "host") or low.startswith("x-remote-"):
                continue
            headers.append((key, value))
        if self.identity is not None:
            headers.append(("X-Remote-User", self.identity.cn))
            headers.extend(("X-Remote-Group", org) for org in self.identity.orgs)
        resp = None
        for _attempt in (1, 2):
            try:
                conn, reused = self._connect()
            except OSError:
                self._drop_upstream()
                return self.status(503, "apiserver not ready", "ServiceUnavailable")
            try:
                conn.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
                conn.putheader("Host", self.headers.get("Host", "127.0.0.1"))
                for key, value in headers:
                    conn.putheader(key, value)
                if body or self.command in ("POST", "PUT", "PATCH"):
                    conn.putheader("Content-Length", str(len(body)))
                conn.endheaders(body or None)
                resp = conn.getresponse()
                break
            except (OSError, http.client.HTTPException):
                self._drop_upstream()
                if not reused:
                    return self.status(503, "apiserver not ready", "ServiceUnavailable")
        if resp is None:
            return self.status(503, "apiserver not ready", "ServiceUnavailable")
        self.relay(resp)

    def relay(self, resp: http.client.HTTPResponse):
        path = urllib.parse.urlsplit(self.path).path
        if path == "/version" and self.command == "GET" and resp.status == 200:
            # kube-apiserver inside K3s reports K3s's version (v1.34.4+k3s1), not upstream's.
            # (RKE2's apiserver is not behind the supervisor: its 6443 reports upstream's.)
            info = json.loads(resp.read())
            info.update(gitVersion=VERSION, goVersion=GO_VERSION)
            return self.reply(200, json.dumps(info, indent=2).encode(), "application/json")
        self.send_response_only(resp.status, resp.reason)
        length = resp.getheader("Content-Length")
        for key, value in resp.getheaders():
            if key.lower() in HOP_BY_HOP or key.lower() == "content-length":
                continue
            self.send_header(key, value)
        if self.command == "HEAD" or resp.status in (204, 304) or resp.status < 200:
            if length is not None:
                self.send_header("Content-Length", length)
            self.end_headers()
            resp.read()
        elif length is not None:
            self.send_header("Content-Length", length)
            self.end_headers()
            while chunk := resp.read1(65536):
                self.wfile.write(chunk)
        else:
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            while chunk := resp.read1(65536):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            self.wfile.write(b"0\r\n\r\n")
        if resp.will_close:
            self._drop_upstream()
        if self.headers.get("Connection", "").lower() == "close":
            self.close_connection = True


def serving_context(cert: Path, key: Path, client_ca: Path) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(cert), str(key))
    context.load_verify_locations(str(client_ca))
    context.verify_mode = ssl.CERT_OPTIONAL
    context.set_alpn_protocols(["http/1.1"])
    return context


def start(bind: str, port: int, context: ssl.SSLContext, owner) -> _TLSServer:
    family = socket.AF_INET6 if ":" in bind else socket.AF_INET
    _TLSServer.address_family = family
    server = _TLSServer((bind, port), Handler, context, owner)
    threading.Thread(target=server.serve_forever, name="supervisor", daemon=True).start()
    return server
