"""minio_bucket, minio_policy and minio_user against the lab's real MinIO (TLS, lab CA).

Every name starts with t-minio- and is removed afterwards. Secrets never reach a command
line: the root credentials travel through MINIO_ROOT_USER / MINIO_ROOT_PASSWORD (the
modules' documented fallback) and a user's secret through a lookup of another variable.
Results are checked with boto3, a client independent of the modules' SDK.
"""

from __future__ import annotations

import datetime
import json
import subprocess
import sys
import time
import uuid

import boto3
import botocore.exceptions
import pytest
from botocore.config import Config
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ansible_collections.edgeai.inference.plugins.module_utils.minio.client import MinioClient
from tests.labenv import read_env_file
from tests.support import ports
from tests.support.ansible import run_module

pytestmark = pytest.mark.lab

USER_SECRET_VAR = "EDGEAI_TEST_MINIO_USER_SECRET"
USER_SECRET_ARG = f"{{{{ lookup('ansible.builtin.env', '{USER_SECRET_VAR}') }}}}"


@pytest.fixture(scope="module")
def creds(lab) -> dict[str, str]:
    return read_env_file(lab["MINIO_ROOT_CREDENTIALS"])


@pytest.fixture
def conn(lab, creds, monkeypatch) -> dict[str, str]:
    """Connection options of the modules; the root credentials come from the environment."""
    monkeypatch.setenv("MINIO_ROOT_USER", creds["MINIO_ROOT_USER"])
    monkeypatch.setenv("MINIO_ROOT_PASSWORD", creds["MINIO_ROOT_PASSWORD"])
    return {"endpoint": lab["MINIO_TLS_ENDPOINT"], "ca_path": lab["LAB_CA"]}


def s3_client(lab, access_key: str, secret_key: str):
    return boto3.client(
        "s3",
        endpoint_url=lab["MINIO_TLS_ENDPOINT"],
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
        region_name="us-east-1",
        verify=lab["LAB_CA"],
        config=Config(retries={"max_attempts": 1}, connect_timeout=5, read_timeout=20),
    )


@pytest.fixture
def root_s3(lab, creds):
    return s3_client(lab, creds["MINIO_ROOT_USER"], creds["MINIO_ROOT_PASSWORD"])


@pytest.fixture
def names(lab, creds, root_s3):
    """Unique t-minio- names; every bucket (with its objects), user and policy made is removed."""
    made: dict[str, list[str]] = {"bucket": [], "user": [], "policy": []}

    def new(kind: str) -> str:
        name = f"t-minio-{kind}-{uuid.uuid4().hex[:10]}"
        made[kind].append(name)
        return name

    yield new
    admin = MinioClient(
        lab["MINIO_TLS_ENDPOINT"], creds["MINIO_ROOT_USER"], creds["MINIO_ROOT_PASSWORD"], ca_path=lab["LAB_CA"]
    )
    for user in made["user"]:
        if admin.user(user):
            admin.remove_user(user)
    for policy in made["policy"]:
        if admin.policy(policy):
            admin.remove_policy(policy)
    for bucket in made["bucket"]:
        try:
            versions = root_s3.list_object_versions(Bucket=bucket)
        except botocore.exceptions.ClientError:
            continue
        for entry in versions.get("Versions", []) + versions.get("DeleteMarkers", []):
            root_s3.delete_object(Bucket=bucket, Key=entry["Key"], VersionId=entry["VersionId"])
        root_s3.delete_bucket(Bucket=bucket)


def bucket_exists(s3, name: str) -> bool:
    try:
        s3.head_bucket(Bucket=name)
    except botocore.exceptions.ClientError:
        return False
    return True


def versioning(s3, name: str) -> str:
    return s3.get_bucket_versioning(Bucket=name).get("Status", "Off")


def error_code(call) -> str:
    with pytest.raises(botocore.exceptions.ClientError) as err:
        call()
    return err.value.response["Error"]["Code"]


def foreign_ca(tmp_path) -> str:
    """A CA that signed nothing the lab serves."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "t-minio foreign CA")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    path = tmp_path / "foreign-ca.pem"
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return str(path)


# --- minio_bucket ---------------------------------------------------------------------------


def test_bucket_check_mode_create_rerun_versioning(lab, conn, names, root_s3):
    bucket = names("bucket")
    args = {**conn, "name": bucket}

    predicted = run_module("minio_bucket", args, check_mode=True, diff=True)
    assert predicted.get("failed") is not True, predicted
    assert predicted["changed"] is True
    assert predicted["diff"] == {"before": {}, "after": {"name": bucket, "versioning": "Off"}}
    assert not bucket_exists(root_s3, bucket), "check mode created the bucket"

    created = run_module("minio_bucket", args)
    assert created["changed"] is True, created
    assert created["bucket"] == {"name": bucket, "versioning": "Off"}
    assert bucket_exists(root_s3, bucket)

    again = run_module("minio_bucket", args)
    assert again["changed"] is False, again

    predicted = run_module("minio_bucket", {**args, "versioning": True}, check_mode=True)
    assert predicted["changed"] is True and predicted["bucket"]["versioning"] == "Enabled"
    assert versioning(root_s3, bucket) == "Off", "check mode enabled versioning"

    enabled = run_module("minio_bucket", {**args, "versioning": True})
    assert enabled["changed"] is True and enabled["bucket"]["versioning"] == "Enabled"
    assert versioning(root_s3, bucket) == "Enabled"
    assert run_module("minio_bucket", {**args, "versioning": True})["changed"] is False

    suspended = run_module("minio_bucket", {**args, "versioning": False})
    assert suspended["changed"] is True and versioning(root_s3, bucket) == "Suspended"
    # Unset versioning leaves it as it is.
    assert run_module("minio_bucket", args)["bucket"]["versioning"] == "Suspended"


def test_bucket_absent_never_deletes_objects(conn, names, root_s3):
    bucket = names("bucket")
    root_s3.create_bucket(Bucket=bucket)
    root_s3.put_object(Bucket=bucket, Key="linear/1/model.py", Body=b"data")

    refused = run_module("minio_bucket", {**conn, "name": bucket, "state": "absent"})
    assert refused.get("failed") is True
    assert refused["error"]["code"] == "BucketNotEmpty"
    assert f"bucket '{bucket}'" in refused["msg"] and "not empty" in refused["msg"]
    assert bucket_exists(root_s3, bucket)

    root_s3.delete_object(Bucket=bucket, Key="linear/1/model.py")
    predicted = run_module("minio_bucket", {**conn, "name": bucket, "state": "absent"}, check_mode=True)
    assert predicted["changed"] is True and bucket_exists(root_s3, bucket)
    removed = run_module("minio_bucket", {**conn, "name": bucket, "state": "absent"})
    assert removed["changed"] is True and "bucket" not in removed
    assert not bucket_exists(root_s3, bucket)
    assert run_module("minio_bucket", {**conn, "name": bucket, "state": "absent"})["changed"] is False


def test_bucket_name_is_checked_before_any_request(conn):
    result = run_module("minio_bucket", {**conn, "name": "Not_A_Bucket"})
    assert result.get("failed") is True
    assert "bucket name 'Not_A_Bucket' must be 3 to 63 characters" in result["msg"]


# --- minio_policy and minio_user --------------------------------------------------------------


def test_read_only_user_for_triton(lab, conn, names, root_s3, monkeypatch, creds):
    bucket, other = names("bucket"), names("bucket")
    policy, user = names("policy"), names("user")
    for name in (bucket, other):
        root_s3.create_bucket(Bucket=name)
        root_s3.put_object(Bucket=name, Key="linear/config.pbtxt", Body=b'name: "linear"')

    policy_args = {**conn, "name": policy, "read_only_bucket": bucket}
    predicted = run_module("minio_policy", policy_args, check_mode=True, diff=True)
    assert predicted["changed"] is True and predicted["diff"]["before"] == {}
    made = run_module("minio_policy", policy_args)
    assert made["changed"] is True, made
    actions = {a for s in made["policy"]["Statement"] for a in s["Action"]}
    assert actions == {"s3:GetBucketLocation", "s3:ListBucket", "s3:GetObject"}
    assert run_module("minio_policy", policy_args)["changed"] is False

    secret = uuid.uuid4().hex[:24]
    monkeypatch.setenv(USER_SECRET_VAR, secret)
    user_args = {**conn, "name": user, "user_secret_key": USER_SECRET_ARG, "policies": [policy]}
    predicted = run_module("minio_user", user_args, check_mode=True, diff=True)
    assert predicted["changed"] is True and predicted["secret_updated"] is True
    assert predicted["diff"]["after"] == {"name": user, "status": "enabled", "policies": [policy]}
    assert error_code(lambda: s3_client(lab, user, secret).list_objects_v2(Bucket=bucket)) == "InvalidAccessKeyId"

    created = run_module("minio_user", user_args, diff=True)
    assert created["changed"] is True, created
    assert created["user"] == {"name": user, "status": "enabled", "policies": [policy]}
    again = run_module("minio_user", user_args)
    assert again["changed"] is False and again["secret_updated"] is False, again

    for result in (created, again, predicted):
        text = json.dumps(result)
        assert secret not in text and creds["MINIO_ROOT_PASSWORD"] not in text

    # Real requests with the user's keys: list and read, nothing else.
    triton = s3_client(lab, user, secret)
    assert [o["Key"] for o in triton.list_objects_v2(Bucket=bucket)["Contents"]] == ["linear/config.pbtxt"]
    assert triton.get_object(Bucket=bucket, Key="linear/config.pbtxt")["Body"].read() == b'name: "linear"'
    assert error_code(lambda: triton.put_object(Bucket=bucket, Key="x", Body=b"x")) == "AccessDenied"
    assert error_code(lambda: triton.delete_object(Bucket=bucket, Key="linear/config.pbtxt")) == "AccessDenied"
    assert error_code(lambda: triton.list_objects_v2(Bucket=other)) == "AccessDenied"
    assert error_code(lambda: triton.get_object(Bucket=other, Key="linear/config.pbtxt")) == "AccessDenied"
    assert error_code(lambda: triton.create_bucket(Bucket=names("bucket"))) == "AccessDenied"
    assert [o["Key"] for o in root_s3.list_objects_v2(Bucket=bucket)["Contents"]] == ["linear/config.pbtxt"]

    # A new secret: check mode predicts it, the run sets it, the old one stops working.
    new_secret = uuid.uuid4().hex[:24]
    monkeypatch.setenv(USER_SECRET_VAR, new_secret)
    predicted = run_module("minio_user", user_args, check_mode=True)
    assert predicted["changed"] is True and predicted["secret_updated"] is True
    triton.list_objects_v2(Bucket=bucket)  # check mode left the old secret in place
    rotated = run_module("minio_user", user_args)
    assert rotated["changed"] is True and rotated["secret_updated"] is True
    assert error_code(lambda: triton.list_objects_v2(Bucket=bucket)) == "SignatureDoesNotMatch"
    s3_client(lab, user, new_secret).list_objects_v2(Bucket=bucket)
    on_create = run_module("minio_user", {**user_args, "update_secret": "on_create", "user_secret_key": "unused-1234"})
    assert on_create["changed"] is False

    # policies: [] detaches every policy; then the user can read nothing.
    detached = run_module("minio_user", {**user_args, "policies": []})
    assert detached["changed"] is True and detached["user"]["policies"] == []
    assert error_code(lambda: s3_client(lab, user, new_secret).list_objects_v2(Bucket=bucket)) == "AccessDenied"

    gone = run_module("minio_user", {**conn, "name": user, "state": "absent"})
    assert gone["changed"] is True and "user" not in gone
    assert run_module("minio_user", {**conn, "name": user, "state": "absent"})["changed"] is False
    assert run_module("minio_policy", {**conn, "name": policy, "state": "absent"})["changed"] is True


def test_policy_written_out_is_compared_in_canonical_form(conn, names):
    policy = names("policy")
    document = {
        "Statement": [
            {"Sid": "", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::t-minio-x/*"},
            {"Effect": "Allow", "Action": ["s3:ListBucket"], "Resource": ["arn:aws:s3:::t-minio-x"]},
        ]
    }
    assert run_module("minio_policy", {**conn, "name": policy, "policy": document})["changed"] is True
    reordered = {"Version": "2012-10-17", "Statement": list(reversed(document["Statement"]))}
    assert run_module("minio_policy", {**conn, "name": policy, "policy": reordered})["changed"] is False
    widened = json.loads(json.dumps(document))
    widened["Statement"][0]["Action"] = ["s3:GetObject", "s3:PutObject"]
    changed = run_module("minio_policy", {**conn, "name": policy, "policy": widened}, diff=True)
    assert changed["changed"] is True
    assert "s3:PutObject" in json.dumps(changed["diff"]["after"])
    assert "s3:PutObject" not in json.dumps(changed["diff"]["before"])


def test_user_with_a_missing_policy_fails_before_any_change(monkeypatch, conn, names):
    user, policy = names("user"), names("policy")
    monkeypatch.setenv(USER_SECRET_VAR, uuid.uuid4().hex[:24])
    args = {**conn, "name": user, "user_secret_key": USER_SECRET_ARG, "policies": [policy]}
    for check_mode in (True, False):
        result = run_module("minio_user", args, check_mode=check_mode)
        assert result.get("failed") is True and result["changed"] is False
        assert f"cannot attach {policy} to user '{user}': no such policy" in result["msg"]
        assert "edgeai.inference.minio_policy" in result["msg"]
    assert run_module("minio_user", {**conn, "name": user, "state": "absent"})["changed"] is False


# --- clear errors -----------------------------------------------------------------------------


def test_wrong_secret_key_names_credentials(monkeypatch, conn, names, root_s3):
    monkeypatch.setenv("MINIO_ROOT_PASSWORD", "not-the-root-password")
    bucket = names("bucket")
    result = run_module("minio_bucket", {**conn, "name": bucket})
    assert result.get("failed") is True and result["changed"] is False
    assert result["error"]["code"] == "SignatureDoesNotMatch"
    assert "refused the credentials" in result["msg"] and "Check access_key and secret_key" in result["msg"]
    assert not bucket_exists(root_s3, bucket)


def test_unknown_access_key_names_credentials(monkeypatch, conn, names):
    monkeypatch.setenv("MINIO_ROOT_USER", "t-minio-nobody")
    result = run_module("minio_policy", {**conn, "name": names("policy"), "read_only_bucket": "models"})
    assert result.get("failed") is True
    assert result["error"]["code"] == "InvalidAccessKeyId" and "'t-minio-nobody'" in result["msg"]


def test_missing_credentials_name_the_variables(monkeypatch, conn, names):
    monkeypatch.delenv("MINIO_ROOT_USER")
    result = run_module("minio_bucket", {**conn, "name": names("bucket")})
    assert result.get("failed") is True
    assert "MINIO_ROOT_USER and MINIO_ROOT_PASSWORD" in result["msg"]


def test_wrong_ca_names_tls_and_ca_path(conn, names, tmp_path):
    result = run_module("minio_bucket", {**conn, "ca_path": foreign_ca(tmp_path), "name": names("bucket")})
    assert result.get("failed") is True
    assert "TLS with MinIO" in result["msg"] and "CERTIFICATE_VERIFY_FAILED" in result["msg"]
    assert "set ca_path to the PEM of the CA" in result["msg"]


def test_missing_ca_file_is_named(conn, names, tmp_path):
    result = run_module("minio_bucket", {**conn, "ca_path": str(tmp_path / "nope.pem"), "name": names("bucket")})
    assert result.get("failed") is True and "nope.pem' is not a file" in result["msg"]


def test_unreachable_endpoint_fails_fast(conn, names):
    endpoint = f"https://127.0.0.1:{ports.free_port()}"
    started = time.monotonic()
    result = run_module("minio_user", {**conn, "endpoint": endpoint, "name": names("user"), "state": "absent"})
    assert result.get("failed") is True
    assert f"MinIO at {endpoint} did not answer" in result["msg"] and "Connection refused" in result["msg"]
    # ansible's own start-up dominates; no retries on a refused connection
    assert time.monotonic() - started < 30


def test_plain_http_port_with_https_names_the_scheme(lab, conn, names):
    plain = lab["MINIO_ENDPOINT"].replace("http://", "https://")
    result = run_module("minio_bucket", {**conn, "endpoint": plain, "name": names("bucket")})
    assert result.get("failed") is True
    assert "does not speak TLS on this port" in result["msg"]


def test_missing_sdk_fails_politely(conn, tmp_path):
    """On a Python without the minio package the module says what to install, no traceback as message."""
    bare = tmp_path / "bare-venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(bare)], check=True, timeout=120)
    result = run_module("minio_bucket", {**conn, "name": "t-minio-never-made"}, interpreter=str(bare / "bin/python"))
    assert result.get("failed") is True
    assert result["msg"].startswith("Failed to import the required Python library (minio)"), result["msg"]
