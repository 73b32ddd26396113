"""The lab's MinIO: real servers, plain and TLS, with generated credentials."""

from __future__ import annotations

import os
import stat
import uuid

import boto3
import botocore.exceptions
import pytest
from botocore.config import Config

from tests.labenv import read_env_file

pytestmark = pytest.mark.lab


def s3_client(endpoint: str, creds: dict[str, str], verify: str | bool):
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=creds["MINIO_ROOT_USER"],
        aws_secret_access_key=creds["MINIO_ROOT_PASSWORD"],
        region_name="us-east-1",
        verify=verify,
        config=Config(retries={"max_attempts": 1}, connect_timeout=5, read_timeout=20),
    )


@pytest.fixture(scope="module")
def creds(lab):
    return read_env_file(lab["MINIO_ROOT_CREDENTIALS"])


def test_root_credentials_file_is_private(lab):
    mode = stat.S_IMODE(os.stat(lab["MINIO_ROOT_CREDENTIALS"]).st_mode)
    assert mode == 0o600, oct(mode)


@pytest.mark.parametrize("endpoint_key", ["MINIO_TLS_ENDPOINT", "MINIO_ENDPOINT"])
def test_put_get_roundtrip(lab, creds, endpoint_key):
    s3 = s3_client(lab[endpoint_key], creds, verify=lab["LAB_CA"])
    bucket = f"smoke-{uuid.uuid4().hex[:10]}"
    body = os.urandom(3 * 1024 * 1024 + 17)
    s3.create_bucket(Bucket=bucket)
    try:
        s3.put_object(Bucket=bucket, Key="dir/blob.bin", Body=body)
        got = s3.get_object(Bucket=bucket, Key="dir/blob.bin")["Body"].read()
        assert got == body
        listed = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
        assert listed == ["dir/blob.bin"]
    finally:
        for obj in s3.list_objects_v2(Bucket=bucket).get("Contents", []):
            s3.delete_object(Bucket=bucket, Key=obj["Key"])
        s3.delete_bucket(Bucket=bucket)


def test_tls_without_the_lab_ca_is_refused(lab, creds):
    # Verification is on: the system bundle does not know the lab CA.
    s3 = s3_client(lab["MINIO_TLS_ENDPOINT"], creds, verify=True)
    with pytest.raises(botocore.exceptions.SSLError):
        s3.list_buckets()


def test_wrong_credentials_are_refused(lab, creds):
    bad = dict(creds, MINIO_ROOT_PASSWORD="not-the-password")
    s3 = s3_client(lab["MINIO_TLS_ENDPOINT"], bad, verify=lab["LAB_CA"])
    with pytest.raises(botocore.exceptions.ClientError) as err:
        s3.list_buckets()
    assert err.value.response["Error"]["Code"] == "SignatureDoesNotMatch"


def test_root_password_not_in_process_arguments(creds):
    password = creds["MINIO_ROOT_PASSWORD"].encode()
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as handle:
                assert password not in handle.read(), f"pid {pid} carries the MinIO root password"
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
