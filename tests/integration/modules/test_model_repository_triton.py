"""The publish path end to end: model_repository_sync → MinIO (TLS) → a real Triton (EXPLICIT mode)
→ triton_model reloads the new version → triton_server_info reports it READY → triton_inference_check
gets the new version's answer over HTTP and gRPC."""

from __future__ import annotations

import shutil

import pytest

from tests import labtriton
from tests.labenv import REPO_ROOT, read_env_file
from tests.support import ports
from tests.support.ansible import run_module

pytestmark = pytest.mark.lab
PORTS = ports.TRITON["model_repository_triton"]
URL = f"http://127.0.0.1:{PORTS[0]}"
BUCKET = "sync-triton"
PREFIX = "repository"


@pytest.fixture(scope="module")
def published(lab, tmp_path_factory):
    """The lab models published by the module, and a Triton reading them from MinIO over TLS."""
    creds = read_env_file(lab["MINIO_ROOT_CREDENTIALS"])
    env = {"AWS_ACCESS_KEY_ID": creds["MINIO_ROOT_USER"], "AWS_SECRET_ACCESS_KEY": creds["MINIO_ROOT_PASSWORD"]}
    labtriton.ensure_bucket(lab, BUCKET)
    repo = tmp_path_factory.mktemp("triton-repo") / "repo"
    shutil.copytree(REPO_ROOT / "lab" / "models", repo, ignore=shutil.ignore_patterns("__pycache__"))
    args = {
        "src": str(repo),
        "bucket": BUCKET,
        "prefix": PREFIX,
        "endpoint_url": lab["MINIO_TLS_ENDPOINT"],
        "ca_path": lab["LAB_CA"],
        "delete": True,
    }
    first = run_module("model_repository_sync", args, env=env)
    assert first.get("failed") is not True, first
    log_path = tmp_path_factory.mktemp("triton-sync") / "tritonserver.log"
    proc = labtriton.start_triton(lab, PORTS, log_path, "--load-model=linear", bucket=f"{BUCKET}/{PREFIX}")
    try:
        labtriton.wait_ready(proc, URL)
        yield {"repo": repo, "args": args, "env": env}
    finally:
        labtriton.stop(proc)


def test_triton_serves_what_was_published_and_a_new_version_after_reload(published):
    info = run_module("triton_server_info", {"url": URL, "required_models": ["linear"]})
    assert info.get("failed") is not True, info
    assert labtriton.infer_linear(URL, [1, 2, -3.5]) == [3, 5, -6]

    # version 2 of linear answers 100 more
    repo = published["repo"]
    (repo / "linear" / "2").mkdir()
    source = (repo / "linear" / "1" / "model.py").read_text()
    changed = source.replace("x * self.weight + self.bias", "x * self.weight + self.bias + 100")
    assert changed != source
    (repo / "linear" / "2" / "model.py").write_text(changed)
    update = run_module("model_repository_sync", published["args"], env=published["env"])
    assert update["changed"] is True and update["added"] == ["linear/2/model.py"], update
    assert update["models_changed"] == ["linear"], update
    assert labtriton.infer_linear(URL, [1, 2, -3.5]) == [3, 5, -6], (
        "EXPLICIT mode: the old version serves until a reload"
    )

    same = run_module("triton_model", {"url": URL, "name": "linear"})
    assert same["changed"] is False, same
    reload = {"url": URL, "name": "linear", "reload": True}
    predicted = run_module("triton_model", reload, check_mode=True)
    assert predicted["changed"] is True and labtriton.infer_linear(URL, [1.0]) == [3.0], predicted
    reloaded = run_module("triton_model", reload)
    assert reloaded["changed"] is True and reloaded["model"]["state"] == "READY", reloaded
    assert reloaded["model"]["version"] == "2", reloaded
    assert labtriton.infer_linear(URL, [1, 2, -3.5]) == [103, 105, 94]
    info = run_module("triton_server_info", {"url": URL, "required_models": ["linear:2"]})
    assert info.get("failed") is not True, info
    probe = {
        "url": URL,
        "model": "linear",
        "inputs": [{"name": "INPUT0", "datatype": "FP32", "shape": [3, 1], "data": [1, 2, -3.5]}],
        "expected_outputs": [{"name": "OUTPUT0", "data": [103, 105, 94]}],
        "requests": 20,
        "concurrency": 2,
    }
    for protocol in ("http", "grpc"):
        grpc_url = f"127.0.0.1:{PORTS[1]}"
        checked = run_module("triton_inference_check", {**probe, "protocol": protocol, "grpc_url": grpc_url})
        assert checked.get("failed") is not True, checked
        assert checked["model_version"] == "2" and checked["request_count"] == 20 and checked["failures"] == 0, checked
