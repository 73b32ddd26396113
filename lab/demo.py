"""Serve the lab models from the lab MinIO with the packed Triton and ask it for answers."""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import requests
import tritonclient.http as httpclient

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests import labtriton
from tests.labenv import lab_env

PORTS = (18200, 18201, 18202)
URL = f"http://127.0.0.1:{PORTS[0]}"


def main() -> int:
    env = lab_env()
    print(f"demo: publishing lab models to {env['MINIO_TLS_ENDPOINT']}/{labtriton.BUCKET}")
    labtriton.upload_models(env)
    log_path = Path(tempfile.mkdtemp(prefix="edgeai-demo-")) / "tritonserver.log"
    proc = labtriton.start_triton(env, PORTS, log_path, "--load-model=linear", "--load-model=labels")
    client = None
    try:
        waited = labtriton.wait_ready(proc, URL)
        print(f"demo: Triton {env['TRITON_VERSION']} READY in {waited:.1f}s (s3 over TLS, EXPLICIT mode)")
        for model in requests.post(f"{URL}/v2/repository/index", json={}, timeout=10).json():
            print(f"demo:   model {model['name']:8s} version {model.get('version', '-')}: {model.get('state')}")
        client = httpclient.InferenceServerClient(f"127.0.0.1:{PORTS[0]}")
        x = np.array([[1.0], [2.0], [-3.5]], dtype=np.float32)
        inp = httpclient.InferInput("INPUT0", list(x.shape), "FP32")
        inp.set_data_from_numpy(x)
        started = time.perf_counter()
        y = client.infer("linear", [inp]).as_numpy("OUTPUT0")
        took = (time.perf_counter() - started) * 1000
        print(f"demo: linear({x.ravel().tolist()}) = {y.ravel().tolist()}  ({took:.1f} ms)")
        feats = np.array([[5.1, 3.5, 1.4, 0.2], [6.7, 3.1, 5.8, 2.2]], dtype=np.float32)
        inp = httpclient.InferInput("INPUT0", list(feats.shape), "FP32")
        inp.set_data_from_numpy(feats)
        labels = [v.decode() for v in client.infer("labels", [inp]).as_numpy("LABEL").ravel()]
        print(f"demo: labels({feats.astype(float).round(2).tolist()}) = {labels}")
        return 0
    except BaseException:
        print(log_path.read_text(errors="replace"), file=sys.stderr)
        raise
    finally:
        if client is not None:
            client.close()
        labtriton.stop(proc)


if __name__ == "__main__":
    raise SystemExit(main())
