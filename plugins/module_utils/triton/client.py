# Copyright: edgeai.inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A small Triton HTTP/REST client (KServe v2 protocol plus Triton's repository API).

Built on ansible.module_utils.urls (proxies, CA bundles, certificate checks as
every Ansible module does them); shared by modules, tests and the benchmark.
"""

from __future__ import annotations

import json
import socket
import time
import urllib.error
import urllib.parse
from dataclasses import asdict, dataclass
from typing import Any

from ansible.module_utils.urls import ConnectionError as UrlsConnectionError
from ansible.module_utils.urls import Request, SSLValidationError, make_context

from ansible_collections.edgeai.inference.plugins.module_utils.errors import (
    TritonError,
    TritonNotReady,
    TritonUnreachable,
)


@dataclass(frozen=True)
class ModelState:
    """One model version as the repository index reports it."""

    name: str
    version: str
    state: str
    reason: str

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


class TritonClient:
    """Talks to one Triton endpoint, e.g. ``http://node:8000`` or ``https://node:8443``."""

    def __init__(self, url: str, timeout: float = 10.0, ca_path: str | None = None, validate_certs: bool = True):
        if not url.startswith(("http://", "https://")):
            raise TritonError(f"url '{url}' must start with http:// or https:// (Triton's HTTP port, 8000 by default)")
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.ca_path = ca_path
        self.validate_certs = validate_certs
        self._context: Any = None

    def close(self) -> None:
        """Drop the TLS context. Nothing else stays open: each request has its own connection, as
        Ansible's URL helpers make it; close() is there so the module base closes every client alike."""
        self._context = None

    def _ssl_context(self) -> Any:
        # Building a context loads the CA store (tens of ms, more than a small inference):
        # once per client, not once per request as open_url() does.
        if self._context is None:
            self._context = make_context(cafile=self.ca_path, validate_certs=self.validate_certs)
        return self._context

    def _request(self, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
        data = json.dumps(body) if body is not None else None
        headers = {"Content-Type": "application/json"} if data is not None else {}
        try:
            response = Request().open(
                method,
                f"{self.url}{path}",
                data=data,
                headers=headers,
                timeout=self.timeout,
                validate_certs=self.validate_certs,
                ca_path=self.ca_path,
                context=self._ssl_context(),
            )
            status, raw = response.status, response.read()
        except urllib.error.HTTPError as exc:
            status, raw = exc.code, exc.read()
        except (urllib.error.URLError, OSError, SSLValidationError, UrlsConnectionError) as exc:
            reason = getattr(exc, "reason", exc)
            if isinstance(reason, socket.timeout):
                raise TritonUnreachable(
                    f"Triton at {self.url} did not answer {method} {path} within {self.timeout:g}s (timed out). "
                    "Raise timeout if the server is busy or the model slow; check that the port is Triton's.",
                    url=self.url,
                ) from exc
            raise TritonUnreachable(
                f"Triton at {self.url} did not answer {method} {path}: {reason}. Check the URL and port "
                "(HTTP, 8000 by default), that the server runs, and for https the CA (ca_path).",
                url=self.url,
            ) from exc
        try:
            payload = json.loads(raw) if raw else None
        except ValueError:
            payload = raw.decode(errors="replace")
        return status, payload

    def live(self) -> bool:
        return self._request("GET", "/v2/health/live")[0] == 200

    def ready(self) -> bool:
        return self._request("GET", "/v2/health/ready")[0] == 200

    def metadata(self) -> dict[str, Any]:
        status, payload = self._request("GET", "/v2")
        if status != 200 or not isinstance(payload, dict):
            raise TritonError(f"Triton at {self.url} answered {status} to GET /v2: {payload}", url=self.url)
        return payload

    def repository_index(self) -> list[ModelState]:
        status, payload = self._request("POST", "/v2/repository/index", {})
        if status != 200 or not isinstance(payload, list):
            raise TritonError(
                f"Triton at {self.url} answered {status} to the repository index: {payload}", url=self.url
            )
        return [
            ModelState(
                name=str(entry.get("name", "")),
                version=str(entry.get("version", "")),
                state=str(entry.get("state", "")),
                reason=str(entry.get("reason", "")),
            )
            for entry in payload
        ]

    def model_ready(self, name: str, version: str | None = None) -> bool:
        """Whether the model (version) answers its own readiness probe; needs no repository listing."""
        return self._request("GET", f"{model_path(name, version)}/ready")[0] == 200

    def model_state(self, name: str) -> ModelState | None:
        """The index entry of a model (its READY version first), or None if the repository lacks it."""
        entries = [m for m in self.repository_index() if m.name == name]
        if not entries:
            return None
        return next((m for m in entries if m.state == "READY"), entries[0])

    def model_metadata(self, name: str, version: str | None = None) -> dict[str, Any]:
        """The model's KServe metadata (inputs and outputs with name, datatype, shape); it must be ready."""
        return self._model_get(name, version, "")

    def model_config(self, name: str, version: str | None = None) -> dict[str, Any]:
        """The configuration the model was loaded with (JSON form of config.pbtxt)."""
        return self._model_get(name, version, "/config")

    def infer(self, name: str, body: dict[str, Any], version: str | None = None) -> dict[str, Any]:
        """One inference request (KServe v2 JSON body); the response, or Triton's error as a TritonError."""
        status, payload = self._request("POST", f"{model_path(name, version)}/infer", body)
        if status != 200 or not isinstance(payload, dict):
            raise TritonError(
                f"Triton at {self.url} refused inference on model '{name}' (HTTP {status}): {error_text(payload)}",
                url=self.url,
                model=name,
                status=status,
                error=error_text(payload),
            )
        return payload

    def _model_get(self, name: str, version: str | None, suffix: str) -> dict[str, Any]:
        path = f"{model_path(name, version)}{suffix}"
        status, payload = self._request("GET", path)
        if status != 200 or not isinstance(payload, dict):
            raise TritonError(
                f"Triton at {self.url} answered {status} to GET {path}: {error_text(payload)}",
                url=self.url,
                model=name,
                status=status,
                error=error_text(payload),
            )
        return payload

    def load_model(self, name: str, config: dict[str, Any] | None = None) -> None:
        """Load (or reload) a model through the repository API, optionally with a config override."""
        body: dict[str, Any] = {}
        if config is not None:
            body = {"parameters": {"config": json.dumps(config)}}
        status, payload = self._request("POST", f"/v2/repository/models/{name}/load", body)
        if status != 200:
            reason = payload.get("error") if isinstance(payload, dict) else payload
            raise TritonError(
                f"Triton at {self.url} could not load model '{name}': {reason}. Loading needs "
                "--model-control-mode=explicit and the model in the repository.",
                url=self.url,
                model=name,
            )

    def unload_model(self, name: str, wait_timeout: float = 60, interval: float = 0.5) -> None:
        """Unload a model; Triton answers before it is gone, so wait until it leaves UNLOADING."""
        status, payload = self._request("POST", f"/v2/repository/models/{name}/unload", {})
        if status != 200:
            reason = payload.get("error") if isinstance(payload, dict) else payload
            raise TritonError(
                f"Triton at {self.url} could not unload model '{name}': {reason}", url=self.url, model=name
            )
        deadline = time.monotonic() + wait_timeout
        while True:
            current = self.model_state(name)
            if current is None or current.state not in ("READY", "UNLOADING"):
                return
            if time.monotonic() >= deadline:
                raise TritonError(
                    f"model '{name}' on Triton at {self.url} was still {current.state} {wait_timeout:g}s after "
                    "the unload request (in-flight requests keep a model loaded)",
                    url=self.url,
                    model=name,
                )
            time.sleep(interval)

    def wait_ready(self, timeout: float, interval: float) -> float:
        """Poll readiness until ready or ``timeout`` seconds; return the seconds waited."""
        started = time.monotonic()
        last: Exception | None = None
        while True:
            try:
                if self.ready():
                    return time.monotonic() - started
                last = None
            except TritonUnreachable as exc:
                last = exc
            if time.monotonic() - started >= timeout:
                why = f" (last error: {last})" if last else ""
                raise TritonNotReady(f"Triton at {self.url} was not ready within {timeout:g}s{why}", url=self.url)
            time.sleep(interval)


# Argument spec of the options in the triton_connection doc fragment.
CONNECTION_ARGUMENT_SPEC: dict[str, dict[str, Any]] = {
    "url": {"type": "str", "required": True},
    "timeout": {"type": "float", "default": 10},
    "ca_path": {"type": "path"},
    "validate_certs": {"type": "bool", "default": True},
}


def model_path(name: str, version: str | None = None) -> str:
    """``/v2/models/<name>[/versions/<version>]`` with the name quoted."""
    path = f"/v2/models/{urllib.parse.quote(name, safe='')}"
    return f"{path}/versions/{urllib.parse.quote(version, safe='')}" if version else path


def error_text(payload: Any) -> str:
    """Triton's own error text from an error answer (``{"error": ...}``), else the answer as is."""
    if isinstance(payload, dict) and "error" in payload:
        return str(payload["error"])
    return str(payload)


def client_from_params(params: dict[str, Any]) -> TritonClient:
    """A client from a module's parameters (the triton_connection options)."""
    return TritonClient(params["url"], params["timeout"], params["ca_path"], params["validate_certs"])


def parse_required(spec: str) -> tuple[str, str | None]:
    """``name`` or ``name:version`` → (name, version or None)."""
    name, _sep, version = spec.partition(":")
    if not name or (_sep and not version.isdigit()):
        raise TritonError(f"required model '{spec}' must be NAME or NAME:VERSION with a numeric version")
    return name, version or None


def required_states(client: TritonClient, required: list[str], why: str) -> list[ModelState]:
    """The required models' states from their own readiness endpoints, for when the index cannot be read."""
    states = []
    for spec in required:
        name, version = parse_required(spec)
        ready = client.model_ready(name, version)
        reason = "" if ready else f"not ready, and the repository index could not be read: {why}"
        states.append(
            ModelState(name=name, version=version or "", state="READY" if ready else "UNAVAILABLE", reason=reason)
        )
    return states


def unready_required(index: list[ModelState], required: list[str]) -> list[str]:
    """Each required model (version) that is not READY, with the server's reason."""
    problems = []
    for spec in required:
        name, version = parse_required(spec)
        entries = [m for m in index if m.name == name and (version is None or m.version == version)]
        if not entries:
            where = f"version {version} of '{name}'" if version else f"'{name}'"
            problems.append(f"{where} is not in the model repository")
        elif not any(m.state == "READY" for m in entries):
            for m in entries:
                shown = f"{m.name}:{m.version}" if m.version else m.name
                problems.append(f"{shown} is {m.state or 'not loaded'}: {m.reason or 'no reason given'}")
    return problems
