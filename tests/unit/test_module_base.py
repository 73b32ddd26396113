"""The module base: one AnsibleModule, one catch of EdgeAIError, details under `error`, clients closed.

Each test runs a real AnsibleModule in this process with the arguments ansible-core's own
test helper hands it (ansible.module_utils.testing.patch_module_args), reads the JSON the
module prints, and for the clients talks to a real HTTP server on 127.0.0.1.
"""

from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from ansible.module_utils.basic import missing_required_lib
from ansible.module_utils.testing import patch_module_args

from ansible_collections.edgeai.inference.plugins.module_utils.base import ModuleRun, Requirement, run_module
from ansible_collections.edgeai.inference.plugins.module_utils.errors import PublishIncomplete, StoreError, TritonError
from ansible_collections.edgeai.inference.plugins.module_utils.model_repository.s3_client import S3Client
from ansible_collections.edgeai.inference.plugins.modules import triton_model

SPEC = {"name": {"type": "str", "required": True}}
EMPTY_LISTING = (
    b'<?xml version="1.0" encoding="UTF-8"?>'
    b'<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><IsTruncated>false</IsTruncated>'
    b"</ListBucketResult>"
)


def run(capsys, args: dict, reconcile, **kwargs) -> dict:
    """Run a module of ``reconcile`` with ``args``; its result as Ansible would read it."""
    with patch_module_args(args), pytest.raises(SystemExit):
        run_module(SPEC, reconcile, supports_check_mode=True, **kwargs)
    return json.loads(capsys.readouterr().out)


class ListingHandler(BaseHTTPRequestHandler):
    """An S3 endpoint that holds one empty bucket, on a kept-alive HTTP/1.1 connection."""

    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(EMPTY_LISTING)))
        self.end_headers()
        self.wfile.write(EMPTY_LISTING)

    def log_message(self, *_args) -> None:
        """Quiet."""


@pytest.fixture
def s3_endpoint():
    server = ThreadingHTTPServer(("127.0.0.1", 0), ListingHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_failing_reconcile_keeps_the_documented_result_and_puts_details_under_error(capsys):
    def reconcile(run: ModuleRun) -> None:
        run.result["model"] = {"name": "linear", "state": "READY"}
        raise TritonError("Triton could not load model 'linear': fix its config", model="linear", url="http://t:8000")

    result = run(capsys, {"name": "linear"}, reconcile)
    assert result["failed"] is True and result["changed"] is False
    assert result["msg"] == "Triton could not load model 'linear': fix its config"
    # the detail model='linear' did not replace the documented model dict
    assert result["model"] == {"name": "linear", "state": "READY"}
    assert result["error"] == {"type": "TritonError", "model": "linear", "url": "http://t:8000"}


def test_the_result_an_error_carries_is_returned_with_the_documented_keys(capsys):
    def reconcile(run: ModuleRun) -> None:
        run.result["destination"] = "s3://models/"
        raise PublishIncomplete(
            "publish incomplete: re-run",
            result={"changed": True, "deleted": ["old/1/model.py"]},
            published=["linear/1/model.py"],
        )

    result = run(capsys, {"name": "x"}, reconcile)
    assert result["failed"] is True and result["changed"] is True
    assert result["destination"] == "s3://models/" and result["deleted"] == ["old/1/model.py"]
    assert result["error"] == {"type": "PublishIncomplete", "published": ["linear/1/model.py"]}


def test_success_returns_the_result_and_no_error(capsys):
    def reconcile(run: ModuleRun) -> None:
        run.result["greeting"] = f"hello {run.params['name']}"

    result = run(capsys, {"name": "edge"}, reconcile, result={"changed": False, "greeting": ""})
    assert result.get("failed") is not True
    assert result["greeting"] == "hello edge" and result["changed"] is False
    assert "error" not in result


def test_a_missing_library_fails_with_missing_required_lib_before_reconcile(capsys):
    called = []
    missing = Requirement("minio", "Traceback (most recent call last):\nModuleNotFoundError: No module named 'minio'")
    result = run(capsys, {"name": "x"}, called.append, requirements=[missing])
    assert result["failed"] is True
    assert result["msg"] == missing_required_lib("minio")
    assert called == []


def test_a_library_needed_only_with_some_parameters_is_not_asked_for_otherwise(capsys):
    grpc_only = Requirement("tritonclient[grpc]", "ImportError", needed=lambda params: params["name"] == "grpc")
    result = run(capsys, {"name": "http"}, lambda run: None, requirements=[grpc_only])
    assert result.get("failed") is not True
    result = run(capsys, {"name": "grpc"}, lambda run: None, requirements=[grpc_only])
    assert result["msg"] == missing_required_lib("tritonclient[grpc]")


@pytest.mark.parametrize("fails", [False, True], ids=["success", "failure"])
def test_the_clients_are_closed_on_success_and_on_failure(capsys, s3_endpoint, fails):
    opened = []

    def reconcile(run: ModuleRun) -> None:
        client = run.closing(S3Client(s3_endpoint, "us-east-1", "access", "secret-key"))
        assert client.list_objects("models", "") == []
        opened.extend(client._connections)
        assert opened and all(conn.sock is not None for conn in opened), "a kept-alive connection is open"
        if fails:
            raise StoreError("the bucket went away", **{"endpoint": s3_endpoint, "bucket": "models"})

    result = run(capsys, {"name": "x"}, reconcile)
    assert result.get("failed", False) is fails
    assert all(conn.sock is None for conn in opened), "close() ran"


def test_a_module_reports_its_failure_through_the_base(capsys):
    """triton_model against a port nothing listens on: the client's details under error, no model key."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}"
    with patch_module_args({"url": url, "name": "linear"}), pytest.raises(SystemExit):
        triton_model.main()
    result = json.loads(capsys.readouterr().out)
    assert result["failed"] is True and result["changed"] is False
    assert f"Triton at {url} did not answer" in result["msg"]
    assert result["error"] == {"type": "TritonUnreachable", "url": url}
    assert "model" not in result
