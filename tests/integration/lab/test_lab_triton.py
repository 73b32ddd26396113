"""Smoke test of the lab's Triton part: the packed release tarball serves the lab
models from the lab MinIO over TLS (private CA), as a host process."""

from __future__ import annotations

import numpy as np
import pytest
import requests
import tritonclient.http as httpclient

from tests import labtriton
from tests.support import ports

pytestmark = pytest.mark.lab

PORTS = ports.TRITON["lab_triton"]
URL = f"http://127.0.0.1:{PORTS[0]}"


@pytest.mark.timeout(600)
def test_triton_serves_lab_models_from_minio_over_tls(lab, tmp_path):
    for key in ("TRITON_LAUNCHER", "TRITON_TARBALL", "TRITON_MODELS", "MINIO_TLS_ENDPOINT", "LAB_CA"):
        assert key in lab, f"{key} is not published by the lab: run make lab-up"
    assert labtriton.upload_models(lab) >= 4
    log_path = tmp_path / "tritonserver.log"
    proc = labtriton.start_triton(lab, PORTS, log_path, "--load-model=linear")
    client = None
    try:
        print(f"tritonserver READY from S3 over TLS in {labtriton.wait_ready(proc, URL):.1f}s")

        index = requests.post(f"{URL}/v2/repository/index", json={}, timeout=10).json()
        states = {m["name"]: m.get("state") for m in index}
        assert states.get("linear") == "READY", index
        assert "labels" in states, index

        client = httpclient.InferenceServerClient(f"127.0.0.1:{PORTS[0]}")
        x = np.array([[1.0], [2.0], [-3.5]], dtype=np.float32)
        inp = httpclient.InferInput("INPUT0", list(x.shape), "FP32")
        inp.set_data_from_numpy(x)
        try:
            y = client.infer("linear", [inp]).as_numpy("OUTPUT0")
        except ValueError as exc:
            # An empty binary output: the same request as JSON tells whether the
            # server or the client lost it (a venv's numpy leaking into the python
            # backend stub once made the server answer with mis-sized outputs).
            body = {"inputs": [{"name": "INPUT0", "shape": [3, 1], "datatype": "FP32", "data": x.ravel().tolist()}]}
            raw = requests.post(f"{URL}/v2/models/linear/infer", json=body, timeout=10).text
            pytest.fail(f"binary answer unreadable ({exc}); the JSON answer to the same request: {raw}")
        np.testing.assert_allclose(y, 2 * x + 1)

        client.load_model("labels")
        assert client.is_model_ready("labels")
        feats = np.array([[5.1, 3.5, 1.4, 0.2], [6.7, 3.1, 5.8, 2.2]], dtype=np.float32)
        inp = httpclient.InferInput("INPUT0", list(feats.shape), "FP32")
        inp.set_data_from_numpy(feats)
        res = client.infer("labels", [inp])
        assert [v.decode() for v in res.as_numpy("LABEL").ravel()] == ["setosa", "virginica"]
        assert res.as_numpy("CLASS").ravel().tolist() == [0, 2]
    except BaseException:
        print(f"---- tritonserver log ({log_path}) ----")
        print(log_path.read_text(errors="replace"))
        raise
    finally:
        if client is not None:
            client.close()  # an open keep-alive connection holds shutdown for --exit-timeout-secs
        labtriton.stop(proc)
