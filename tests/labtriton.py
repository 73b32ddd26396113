"""Run the lab's packed tritonserver as a host process against the lab MinIO.

Shared by the Triton smoke test and `make demo`: publish the lab models to a
bucket over TLS, start the server with credentials in its environment only and
the lab CA trusted in its private mount namespace, wait for ready, stop.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import boto3
import requests
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.labenv import read_env_file

BUCKET = "models"


def minio_root(env: dict[str, str]) -> dict[str, str]:
    return read_env_file(env["MINIO_ROOT_CREDENTIALS"])


def ensure_bucket(env: dict[str, str], bucket: str = BUCKET):
    """A boto3 client on the lab MinIO's TLS endpoint (root), after making sure the bucket exists."""
    creds = minio_root(env)
    s3 = boto3.client(
        "s3",
        endpoint_url=env["MINIO_TLS_ENDPOINT"],
        aws_access_key_id=creds["MINIO_ROOT_USER"],
        aws_secret_access_key=creds["MINIO_ROOT_PASSWORD"],
        region_name="us-east-1",
        verify=env["LAB_CA"],
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
    )
    try:
        s3.head_bucket(Bucket=bucket)
    except ClientError:
        s3.create_bucket(Bucket=bucket)
    return s3


def upload_models(env: dict[str, str], bucket: str = BUCKET, models: Path | None = None) -> int:
    """Copy every file of a model repository (the lab models by default) into the bucket over TLS."""
    s3 = ensure_bucket(env, bucket)
    models = models or Path(env["TRITON_MODELS"])
    count = 0
    for path in sorted(models.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            s3.upload_file(str(path), bucket, path.relative_to(models).as_posix())
            count += 1
    return count


def start_triton(
    env: dict[str, str], ports: tuple[int, int, int], log_path: Path, *extra: str, bucket: str = BUCKET
) -> subprocess.Popen:
    """Start tritonserver (EXPLICIT mode) reading s3://https://<minio>/<bucket>."""
    creds = minio_root(env)
    tls = env["MINIO_TLS_ENDPOINT"].removeprefix("https://")
    server_env = {
        **os.environ,
        "TRITON_TARBALL": env["TRITON_TARBALL"],
        "TRITON_EXTRA_CA": env["LAB_CA"],
        # Credentials reach tritonserver only through its environment.
        "AWS_ACCESS_KEY_ID": creds["MINIO_ROOT_USER"],
        "AWS_SECRET_ACCESS_KEY": creds["MINIO_ROOT_PASSWORD"],
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    http, grpc, metrics = ports
    with log_path.open("wb") as log:
        return subprocess.Popen(
            [
                env["TRITON_LAUNCHER"],
                f"--model-repository=s3://https://{tls}/{bucket}",
                "--model-control-mode=explicit",
                f"--http-port={http}",
                f"--grpc-port={grpc}",
                f"--metrics-port={metrics}",
                *extra,
            ],
            env=server_env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )


def wait_ready(proc: subprocess.Popen, url: str, timeout: float = 240) -> float:
    """Poll /v2/health/ready; return seconds waited. Raises when the server dies or times out."""
    started = time.monotonic()
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"tritonserver exited with {proc.returncode}")
        try:
            if requests.get(f"{url}/v2/health/ready", timeout=2).status_code == 200:
                return time.monotonic() - started
        except requests.ConnectionError:
            pass
        if time.monotonic() - started > timeout:
            raise TimeoutError(f"tritonserver not ready within {timeout:.0f} s")
        time.sleep(0.5)


def stop(proc: subprocess.Popen) -> None:
    """Stop the server's whole process group (the server and its python stubs)."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=40)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def infer_linear(url: str, values: list[float]) -> list[float]:
    """The lab model ``linear``'s answer for ``values`` (a batch of one-element inputs), over HTTP."""
    body = {"inputs": [{"name": "INPUT0", "datatype": "FP32", "shape": [len(values), 1], "data": values}]}
    answer = requests.post(f"{url}/v2/models/linear/infer", json=body, timeout=30)
    answer.raise_for_status()
    return answer.json()["outputs"][0]["data"]
