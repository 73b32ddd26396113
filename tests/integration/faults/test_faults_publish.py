"""Fault: the model store dies in the middle of a publish.

A MinIO of this test's own (the lab's binary, own port and data directory, the
lab's TLS certificate) holds version 1 of ``linear``; a real Triton in EXPLICIT
mode serves it. Version 2 (a new weight and a large extra file, so the publish
takes a while) is being published when MinIO is killed. The module must fail
with a message listing what was and was not published, Triton must keep
answering with version 1, and once MinIO is back a re-run must finish the job
and ``triton_model`` must serve version 2.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import ssl
import subprocess
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from tests import labtriton
from tests.labenv import LAB_DIR, read_env_file
from tests.support import ports
from tests.support.ansible import run_module

pytestmark = pytest.mark.lab
MINIO_PORT = ports.FAULTS_MINIO_PORT
ENDPOINT = f"https://127.0.0.1:{MINIO_PORT}"
TRITON_PORTS = ports.TRITON["faults_publish"]
TRITON_URL = f"http://127.0.0.1:{TRITON_PORTS[0]}"
BUCKET = "fault-models"


class PrivateMinio:
    """MinIO on loopback with its own data dir, the lab's TLS certificate and root credentials."""

    def __init__(self, lab: dict[str, str], work: Path) -> None:
        self.binary = lab["MINIO_BIN"]
        self.data = work / "data"
        self.certs = work / "certs"
        self.log = work / "minio.log"
        self.data.mkdir()
        (self.certs / "CAs").mkdir(parents=True)
        pki = Path(lab["LAB_CA"]).parent
        shutil.copy(pki / "server.crt", self.certs / "public.crt")
        shutil.copy(pki / "server.key", self.certs / "private.key")
        creds = read_env_file(lab["MINIO_ROOT_CREDENTIALS"])
        self.env = {**os.environ, **creds}
        self.ca = lab["LAB_CA"]
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [self.binary, "server", str(self.data), "--address", f"127.0.0.1:{MINIO_PORT}",
                 "--console-address", f"127.0.0.1:{MINIO_PORT + 1}", "--certs-dir", str(self.certs)],
                env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        deadline = time.monotonic() + 60
        while True:
            try:
                ctx = ssl.create_default_context(cafile=self.ca)
                with urllib.request.urlopen(f"{ENDPOINT}/minio/health/ready", timeout=2, context=ctx):
                    return
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"private MinIO not ready: {self.log.read_text()[-2000:]}") from None
                time.sleep(0.3)

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)

    def multipart_in_progress(self) -> bool:
        return any((self.data / ".minio.sys" / "multipart").glob("*/*"))


@pytest.mark.timeout(900)
def test_store_killed_mid_publish_then_rerun_completes(lab, tmp_path):
    minio = PrivateMinio(lab, tmp_path)
    minio.start()
    triton = None
    try:
        creds = read_env_file(lab["MINIO_ROOT_CREDENTIALS"])
        env = {"AWS_ACCESS_KEY_ID": creds["MINIO_ROOT_USER"], "AWS_SECRET_ACCESS_KEY": creds["MINIO_ROOT_PASSWORD"]}
        fault_env = {**lab, "MINIO_TLS_ENDPOINT": ENDPOINT}
        labtriton.ensure_bucket(fault_env, BUCKET)
        repo = tmp_path / "repo"
        shutil.copytree(
            Path(lab["TRITON_MODELS"]) / "linear", repo / "linear", ignore=shutil.ignore_patterns("__pycache__")
        )
        args = {"src": str(repo), "bucket": BUCKET, "endpoint_url": ENDPOINT, "ca_path": lab["LAB_CA"], "retries": 1}
        first = run_module("model_repository_sync", args, env=env)
        assert first.get("failed") is not True, first

        triton = labtriton.start_triton(
            fault_env, TRITON_PORTS, tmp_path / "tritonserver.log", "--load-model=linear", bucket=BUCKET
        )
        labtriton.wait_ready(triton, TRITON_URL)
        assert labtriton.infer_linear(TRITON_URL, [1, 2]) == [3, 5]

        # version 2: answers 100 more, and carries 600 MiB of extra data (multipart, a few seconds)
        version2 = repo / "linear" / "2"
        version2.mkdir()
        source = (repo / "linear" / "1" / "model.py").read_text()
        changed = source.replace("x * self.weight + self.bias", "x * self.weight + self.bias + 100")
        assert changed != source
        (version2 / "model.py").write_text(changed)
        with (version2 / "weights.bin").open("wb") as blob:
            for _mib in range(600):
                blob.write(os.urandom(1 << 20))

        # kill the store while a multipart upload of weights.bin is under way
        killed = threading.Event()

        def killer() -> None:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and not minio.multipart_in_progress():
                time.sleep(0.05)
            minio.kill()
            killed.set()

        thread = threading.Thread(target=killer)
        thread.start()
        broken = run_module("model_repository_sync", {**args, "workers": 2, "part_size_mb": 8}, env=env)
        thread.join(timeout=180)
        assert killed.is_set(), "the store was never seen mid-upload"
        assert broken.get("failed") is True, broken
        message = broken["msg"]
        assert "linear/2/weights.bin" in json.dumps(broken["error"]["not_published"]), broken
        assert "linear/config.pbtxt" not in broken["error"].get("published", []), "config before its version files"
        assert f"127.0.0.1:{MINIO_PORT}" in message, message

        # Triton in EXPLICIT mode keeps serving version 1
        assert labtriton.infer_linear(TRITON_URL, [1, 2]) == [3, 5]
        info = run_module("triton_server_info", {"url": TRITON_URL, "required_models": ["linear:1"]})
        assert info.get("failed") is not True, info
        assert "repository_error" in info and info["models"][0]["state"] == "READY", info

        # the store returns: the re-run sends only what is missing, and version 2 loads
        minio.start()
        rerun = run_module("model_repository_sync", args, env=env)
        assert rerun.get("failed") is not True, rerun
        assert "linear/2/weights.bin" in rerun["added"] + rerun["modified"], rerun
        again = run_module("model_repository_sync", args, env=env)
        assert again["changed"] is False and again["bytes_uploaded"] == 0, again
        # version 2 carries 600 MiB that Triton reads from the store during the load: give the
        # request more than the 10 s default, as a playbook loading a large model would
        loaded = run_module("triton_model", {"url": TRITON_URL, "name": "linear", "reload": True, "timeout": 120})
        assert loaded.get("failed") is not True and loaded["changed"] is True, loaded.get("msg", loaded)
        assert labtriton.infer_linear(TRITON_URL, [1, 2]) == [103, 105]
    finally:
        if triton is not None:
            labtriton.stop(triton)
        minio.kill()
        log = LAB_DIR / "logs" / "fault-minio.log"
        if minio.log.exists():
            log.write_bytes(minio.log.read_bytes())
