"""model_repository_sync, run by Ansible against the lab's real MinIO (TLS and plain) and a directory."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

import boto3
import pytest
from botocore.config import Config

from tests.labenv import REPO_ROOT, read_env_file
from tests.support import ports
from tests.support.ansible import run_module
from tests.support.manifest import with_manifest

pytestmark = pytest.mark.lab
LAB_MODELS = REPO_ROOT / "lab" / "models"
BUCKET = "sync-tests"
ALL_FILES = [
    "labels/1/model.py",
    "labels/config.pbtxt",
    "labels/labels.txt",
    "linear/1/model.py",
    "linear/config.pbtxt",
]


@pytest.fixture(scope="module")
def minio(lab):
    """Root credentials (as the environment fallbacks), the endpoints, a boto3 client on TLS, the bucket."""
    creds = read_env_file(lab["MINIO_ROOT_CREDENTIALS"])
    env = {"AWS_ACCESS_KEY_ID": creds["MINIO_ROOT_USER"], "AWS_SECRET_ACCESS_KEY": creds["MINIO_ROOT_PASSWORD"]}
    clients = {}
    for key in ("MINIO_TLS_ENDPOINT", "MINIO_ENDPOINT"):
        clients[key] = boto3.client(
            "s3",
            endpoint_url=lab[key],
            aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
            region_name="us-east-1",
            verify=lab["LAB_CA"],
            config=Config(s3={"addressing_style": "path"}),
        )
        existing = {b["Name"] for b in clients[key].list_buckets()["Buckets"]}
        if BUCKET not in existing:
            clients[key].create_bucket(Bucket=BUCKET)
    return {"env": env, "lab": lab, "tls": clients["MINIO_TLS_ENDPOINT"], "plain": clients["MINIO_ENDPOINT"]}


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    shutil.copytree(LAB_MODELS, root, ignore=shutil.ignore_patterns("__pycache__"))
    return root


def tls_args(minio, src: Path, prefix: str, **extra) -> dict:
    return {
        "src": str(src),
        "bucket": BUCKET,
        "prefix": prefix,
        "endpoint_url": minio["lab"]["MINIO_TLS_ENDPOINT"],
        "ca_path": minio["lab"]["LAB_CA"],
        **extra,
    }


def snapshot(client, prefix: str) -> dict[str, tuple[str, object]]:
    """Every object under prefix: ETag and LastModified (a rewrite of the same bytes moves the latter)."""
    objects = {}
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix + "/"):
        for item in page.get("Contents", []):
            objects[item["Key"][len(prefix) + 1 :]] = (item["ETag"], item["LastModified"])
    return objects


def body(client, key: str) -> bytes:
    return client.get_object(Bucket=BUCKET, Key=key)["Body"].read()


def flip_one_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


def test_publish_tls_idempotent_edit_and_delete(minio, repo):
    prefix = f"t-{uuid.uuid4().hex[:8]}"
    args = tls_args(minio, repo, prefix)
    env = minio["env"]

    first = run_module("model_repository_sync", args, env=env)
    assert first["changed"] is True and not first.get("failed"), first
    assert first["added"] == ALL_FILES and first["models_changed"] == ["labels", "linear"], first
    published = snapshot(minio["tls"], prefix)
    assert sorted(published) == with_manifest(ALL_FILES)
    for rel in ALL_FILES:
        assert body(minio["tls"], f"{prefix}/{rel}") == (repo / rel).read_bytes(), rel

    again = run_module("model_repository_sync", args, env=env)
    assert again["changed"] is False and again["bytes_uploaded"] == 0, again
    assert again["unchanged"] == len(ALL_FILES) and not again["added"] and not again["modified"], again
    assert snapshot(minio["tls"], prefix) == published, "a no-change run rewrote objects"

    flip_one_byte(repo / "labels" / "labels.txt")
    edited = run_module("model_repository_sync", args, env=env)
    assert edited["changed"] is True and edited["modified"] == ["labels/labels.txt"], edited
    assert edited["models_changed"] == ["labels"], edited
    assert body(minio["tls"], f"{prefix}/labels/labels.txt") == (repo / "labels" / "labels.txt").read_bytes()

    shutil.rmtree(repo / "labels")
    kept = run_module("model_repository_sync", args, env=env)
    assert kept["changed"] is False, kept
    assert kept["stale"] == ["labels/1/model.py", "labels/config.pbtxt", "labels/labels.txt"], kept
    assert "labels/config.pbtxt" in snapshot(minio["tls"], prefix)

    deleted = run_module("model_repository_sync", {**args, "delete": True}, env=env)
    assert deleted["changed"] is True, deleted
    assert deleted["deleted"] == ["labels/1/model.py", "labels/config.pbtxt", "labels/labels.txt"], deleted
    # the deleted model's records went with it: only the shards recording linear's files are left
    assert sorted(snapshot(minio["tls"], prefix)) == with_manifest(["linear/1/model.py", "linear/config.pbtxt"])
    assert run_module("model_repository_sync", {**args, "delete": True}, env=env)["changed"] is False


def test_check_mode_predicts_the_real_run_exactly(minio, repo):
    prefix = f"t-{uuid.uuid4().hex[:8]}"
    args = tls_args(minio, repo, prefix, delete=True)
    env = minio["env"]
    assert run_module("model_repository_sync", args, env=env)["changed"] is True
    # one change of each kind: an added version, a same-size edit, a removed model
    (repo / "linear" / "2").mkdir()
    shutil.copy(repo / "linear" / "1" / "model.py", repo / "linear" / "2" / "model.py")
    config = repo / "linear" / "config.pbtxt"
    config.write_text(config.read_text().replace('"2.0"', '"3.0"'))
    shutil.rmtree(repo / "labels")
    before = snapshot(minio["tls"], prefix)

    predicted = run_module("model_repository_sync", args, check_mode=True, diff=True, env=env)
    assert snapshot(minio["tls"], prefix) == before, "check mode wrote to the bucket"
    assert predicted["changed"] is True and predicted["bytes_uploaded"] == 0, predicted
    real = run_module("model_repository_sync", args, diff=True, env=env)
    keys = ("changed", "added", "modified", "deleted", "stale", "unchanged", "models_changed", "diff")
    assert {k: predicted[k] for k in keys} == {k: real[k] for k in keys}
    assert real["added"] == ["linear/2/model.py"] and real["modified"] == ["linear/config.pbtxt"], real
    assert real["deleted"] == ["labels/1/model.py", "labels/config.pbtxt", "labels/labels.txt"], real
    assert "labels/labels.txt  sha256:" in real["diff"]["before"] and "labels" not in real["diff"]["after"]
    assert "linear/2/model.py  sha256:" in real["diff"]["after"]


def test_publish_over_plain_http(minio, repo):
    prefix = f"t-{uuid.uuid4().hex[:8]}"
    args = {"src": str(repo), "bucket": BUCKET, "prefix": prefix, "endpoint_url": minio["lab"]["MINIO_ENDPOINT"]}
    first = run_module("model_repository_sync", args, env=minio["env"])
    assert first["changed"] is True and first["added"] == ALL_FILES, first
    assert body(minio["plain"], f"{prefix}/linear/1/model.py") == (repo / "linear/1/model.py").read_bytes()
    second = run_module("model_repository_sync", args, env=minio["env"])
    assert second["changed"] is False and second["bytes_uploaded"] == 0, second


def test_large_file_goes_up_in_parts_and_round_trips(minio, repo):
    prefix = f"t-{uuid.uuid4().hex[:8]}"
    weights = repo / "linear" / "1" / "weights.bin"
    weights.write_bytes(bytes(range(256)) * (4096 * 13 + 7))  # 13 MiB and a bit: three 5 MiB parts
    args = tls_args(minio, repo, prefix, part_size_mb=5)
    result = run_module("model_repository_sync", args, env=minio["env"])
    assert result["changed"] is True and "linear/1/weights.bin" in result["added"], result
    head = minio["tls"].head_object(Bucket=BUCKET, Key=f"{prefix}/linear/1/weights.bin")
    assert head["ETag"].strip('"').endswith("-3"), head["ETag"]  # a three-part upload
    assert body(minio["tls"], f"{prefix}/linear/1/weights.bin") == weights.read_bytes()
    assert run_module("model_repository_sync", args, env=minio["env"])["changed"] is False


def test_filesystem_target(tmp_path, repo):
    dest = tmp_path / "export"
    dest.mkdir()
    args = {"src": str(repo), "dest_path": str(dest), "delete": True}
    first = run_module("model_repository_sync", args)
    assert first["changed"] is True and first["added"] == ALL_FILES, first
    for rel in ALL_FILES:
        assert (dest / rel).read_bytes() == (repo / rel).read_bytes(), rel
    stamps = {rel: (dest / rel).stat().st_mtime_ns for rel in ALL_FILES}
    assert run_module("model_repository_sync", args)["changed"] is False
    assert {rel: (dest / rel).stat().st_mtime_ns for rel in ALL_FILES} == stamps, "a no-change run rewrote files"

    flip_one_byte(repo / "linear" / "1" / "model.py")
    shutil.rmtree(repo / "labels")
    predicted = run_module("model_repository_sync", args, check_mode=True)
    assert (dest / "labels" / "labels.txt").exists(), "check mode deleted a file"
    real = run_module("model_repository_sync", args)
    assert (predicted["modified"], predicted["deleted"]) == (real["modified"], real["deleted"])
    assert real["modified"] == ["linear/1/model.py"], real
    assert (dest / "linear/1/model.py").read_bytes() == (repo / "linear/1/model.py").read_bytes()
    assert not (dest / "labels").exists(), "the removed model's directories were left behind"
    leftovers = [p.name for p in dest.rglob(".edgeai-tmp-*")]
    assert leftovers == [], leftovers


def test_filesystem_destination_must_exist(tmp_path, repo):
    result = run_module("model_repository_sync", {"src": str(repo), "dest_path": str(tmp_path / "typo")})
    assert result.get("failed") is True, result
    assert "is not a directory" in result["msg"] and "mount the NFS export" in result["msg"], result["msg"]
    assert not (tmp_path / "typo").exists()


# -- bad input: each a clear error, nothing written ----------------------------------------------


def break_missing_config(repo: Path) -> None:
    (repo / "linear" / "config.pbtxt").unlink()


def break_pbtxt(repo: Path) -> None:
    (repo / "linear" / "config.pbtxt").write_text('name: "linear"\ninput [ { name: "INPUT0" ')


def break_version(repo: Path) -> None:
    (repo / "labels" / "1").rename(repo / "labels" / "latest")


@pytest.mark.parametrize(
    ("breaker", "expected"),
    [
        (break_missing_config, "linear: no config.pbtxt"),
        (break_pbtxt, "linear/config.pbtxt: not a valid Triton ModelConfig"),
        (break_version, "labels/latest: version directory must be a positive integer"),
    ],
)
def test_invalid_repository_is_refused_before_any_write(minio, repo, breaker, expected):
    prefix = f"t-{uuid.uuid4().hex[:8]}"
    breaker(repo)
    result = run_module("model_repository_sync", tls_args(minio, repo, prefix), env=minio["env"])
    assert result.get("failed") is True, result
    assert expected in result["msg"] and "nothing was published" in result["msg"], result["msg"]
    assert any(expected in p for p in result["error"]["problems"]), result["error"]
    assert snapshot(minio["tls"], prefix) == {}


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"env": {"AWS_SECRET_ACCESS_KEY": "not-the-secret"}}, "rejected the credentials"),
        ({"args": {"ca_path": "/etc/ssl/certs/ca-certificates.crt"}}, "set ca_path to the CA bundle"),
        (
            {"args": {"endpoint_url": f"https://127.0.0.1:{ports.CLOSED_PORT}", "retries": 1}},
            f"cannot reach https://127.0.0.1:{ports.CLOSED_PORT}",
        ),
        ({"args": {"bucket": "no-such-bucket-here"}}, "bucket 'no-such-bucket-here' does not exist"),
        ({"args": {"ca_path": "/nonexistent/ca.pem"}}, "ca_path '/nonexistent/ca.pem' is not a file"),
    ],
    ids=["wrong-credentials", "wrong-ca", "unreachable", "missing-bucket", "missing-ca-file"],
)
def test_bad_destination_is_a_clear_error_and_writes_nothing(minio, repo, change, expected):
    prefix = f"t-{uuid.uuid4().hex[:8]}"
    args = {**tls_args(minio, repo, prefix), **change.get("args", {})}
    result = run_module("model_repository_sync", args, env={**minio["env"], **change.get("env", {})})
    assert result.get("failed") is True, result
    assert expected in result["msg"], result["msg"]
    assert minio["env"]["AWS_SECRET_ACCESS_KEY"] not in str(result)
    assert snapshot(minio["tls"], prefix) == {}
