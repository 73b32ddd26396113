"""A small Kubernetes API client (JSON over HTTPS with a client certificate), stdlib only."""

from __future__ import annotations

import http.client
import json
import ssl
from pathlib import Path


class ApiError(Exception):
    def __init__(self, status: int, body: str):
        super().__init__(f"{status}: {body[:300]}")
        self.status = status
        self.body = body


class Kube:
    def __init__(self, host: str, port: int, ca: Path, cert: Path, key: Path, timeout: float = 15):
        self.host, self.port, self.timeout = host, port, timeout
        self.context = ssl.create_default_context(cafile=str(ca))
        self.context.load_cert_chain(str(cert), str(key))

    def request(self, method: str, path: str, body: object = None, content_type: str = "application/json"):
        conn = http.client.HTTPSConnection(self.host, self.port, context=self.context, timeout=self.timeout)
        try:
            data = None if body is None else json.dumps(body).encode()
            headers = {"Accept": "application/json"}
            if data is not None:
                headers["Content-Type"] = content_type
            conn.request(method, path, body=data, headers=headers)
            resp = conn.getresponse()
            text = resp.read().decode(errors="replace")
        finally:
            conn.close()
        if resp.status >= 300:
            raise ApiError(resp.status, text)
        return json.loads(text) if text else {}

    def get(self, path: str):
        return self.request("GET", path)

    def get_or_none(self, path: str):
        try:
            return self.get(path)
        except ApiError as exc:
            if exc.status == 404:
                return None
            raise

    def create(self, path: str, body: object):
        return self.request("POST", path, body)

    def merge_patch(self, path: str, body: object):
        return self.request("PATCH", path, body, "application/merge-patch+json")

    def apply(self, path: str, name: str, body: object):
        """Create, or replace what is there (for the stand-in's own RBAC objects)."""
        current = self.get_or_none(f"{path}/{name}")
        if current is None:
            return self.create(path, body)
        body = dict(body)  # type: ignore[arg-type]
        body["metadata"] = dict(body["metadata"], resourceVersion=current["metadata"]["resourceVersion"])
        return self.request("PUT", f"{path}/{name}", body)

    def readyz(self) -> bool:
        try:
            conn = http.client.HTTPSConnection(self.host, self.port, context=self.context, timeout=5)
            conn.request("GET", "/readyz")
            resp = conn.getresponse()
            ok = resp.status == 200 and resp.read().strip() == b"ok"
            conn.close()
            return ok
        except (OSError, http.client.HTTPException):
            return False
