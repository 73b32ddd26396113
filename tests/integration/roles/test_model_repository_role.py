"""The model_repository role through ansible-playbook, against the lab's MinIO over TLS and a real Triton.

One bucket of its own: the first run publishes the generated examples, a model from a local
directory and one from an archive served over loopback HTTP (sha256-checked); a re-run changes
nothing; check mode predicts a weight change that the real run then makes; a wrong sha256 and a
malformed config mapping fail early and leave the bucket as it was; Triton (EXPLICIT mode) reloads
the changed model and answers with the new weight. One run publishes to a directory instead."""

from __future__ import annotations

import functools
import hashlib
import http.server
import json
import subprocess
import sys
import tarfile
import threading
import uuid
from pathlib import Path

import pytest

from ansible_collections.edgeai.inference.plugins.module_utils.model_repository import pbtxt
from ansible_collections.edgeai.inference.plugins.module_utils.model_repository.plan import shard_of
from ansible_collections.edgeai.inference.plugins.module_utils.triton.client import TritonClient
from ansible_collections.edgeai.inference.plugins.module_utils.triton.inference import http_request_body
from tests import labtriton
from tests.labenv import read_env_file
from tests.support import ansible, ports
from tests.support.manifest import with_manifest

pytestmark = pytest.mark.lab
PORTS = ports.TRITON["model_repository_role"]
TRITON_URL = f"http://127.0.0.1:{PORTS[0]}"
PUBLISH_S3 = "Publish | Validate and publish the repository to S3 (MinIO)"
PUBLISH_DIR = "Publish | Validate and publish the repository to the directory"

# A python-backend model that answers its input unchanged: the local-directory and archive models.
ECHO_MODEL = """import triton_python_backend_utils as pb_utils


class TritonPythonModel:
    def execute(self, requests):
        answers = []
        for request in requests:
            data = pb_utils.get_input_tensor_by_name(request, "IN").as_numpy()
            answers.append(pb_utils.InferenceResponse([pb_utils.Tensor("OUT", data)]))
        return answers
"""
ECHO_CONFIG = {
    "backend": "python",
    "max_batch_size": 4,
    "input": [{"name": "IN", "data_type": "INT32", "dims": [2]}],
    "output": [{"name": "OUT", "data_type": "INT32", "dims": [2]}],
    "instance_group": [{"kind": "cpu", "count": 1}],
}
PLAYBOOK = """- name: Model repository
  hosts: localhost
  connection: local
  gather_facts: false
  roles:
    - role: edgeai.inference.model_repository
"""


def run_role(
    tmp: Path, variables: dict, check: bool = False, diff: bool = False, inventory: str = "localhost,"
) -> dict:
    """ansible-playbook with the role; variables (with the secret key) in a 0600 file, never in argv."""
    playbook = tmp / "play.yml"
    playbook.write_text(PLAYBOOK)
    argv = ["-i", inventory, str(playbook)]
    # interpreter discovery here finds a broken pyenv shim; an inventory names its own interpreters
    argv += ["-e", f"ansible_python_interpreter={sys.executable}"] if inventory == "localhost," else []
    argv += ["--check"] if check else []
    argv += ["--diff"] if diff else []
    env = ansible.environment(json_output=True, NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1")
    proc = ansible.run_playbook(argv, env=env, variables=variables, timeout=600)
    report = ansible.json_report(proc)
    tasks = {}
    for task in report["plays"][0]["tasks"]:
        name = task["task"]["name"].split(" : ", 1)[-1]
        tasks[name] = task["hosts"].get("localhost", {})
    stats = report["stats"]["localhost"]
    failed = [
        (name, " ".join(str(r.get("msg")) for r in result.get("results", []) if r.get("failed")) or result.get("msg"))
        for name, result in tasks.items()
        if result.get("failed")
    ]
    return {"rc": proc.returncode, "stats": stats, "tasks": tasks, "failed": failed, "stdout": proc.stdout}


def bucket_state(s3, bucket: str) -> dict[str, str]:
    """Every object's key and ETag: what 'untouched' is checked against."""
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
    return {obj["Key"]: obj["ETag"] for page in pages for obj in page.get("Contents", [])}


@pytest.fixture(scope="module")
def http_files(tmp_path_factory):
    """A throwaway HTTP server on loopback serving a directory; yields (directory, base URL)."""
    root = tmp_path_factory.mktemp("served")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield root, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def site(lab, tmp_path_factory, http_files):
    """The variables of one site: a new bucket, a local model directory, an archive on loopback HTTP."""
    tmp = tmp_path_factory.mktemp("role")
    bucket = f"role-{uuid.uuid4().hex[:10]}"
    s3 = labtriton.ensure_bucket(lab, bucket)
    creds = read_env_file(lab["MINIO_ROOT_CREDENTIALS"])

    echo = tmp / "src" / "echo"
    (echo / "1").mkdir(parents=True)
    (echo / "1" / "model.py").write_text(ECHO_MODEL)
    (echo / "config.pbtxt").write_text(pbtxt.render(ECHO_CONFIG, "echo"))

    served, base_url = http_files
    archive = served / "fetched.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(echo / "1", arcname="1")
    models = [
        {"name": "linear", "example": "linear", "parameters": {"weight": 2.0, "bias": 1.0}},
        {"name": "labels", "example": "labels"},
        {"name": "echo", "src": str(echo)},
        {
            "name": "fetched",
            "url": f"{base_url}/fetched.tar.gz",
            "sha256": hashlib.sha256(archive.read_bytes()).hexdigest(),
            "config": ECHO_CONFIG,
        },
    ]
    variables = {
        "model_repository_models": models,
        "model_repository_build_dir": str(tmp / "build"),
        "model_repository_cache_dir": str(tmp / "cache"),
        "model_repository_store": "minio",
        "model_repository_s3_endpoint": lab["MINIO_TLS_ENDPOINT"],
        "model_repository_s3_bucket": bucket,
        "model_repository_s3_ca_path": lab["LAB_CA"],
        "model_repository_s3_access_key": creds["MINIO_ROOT_USER"],
        "model_repository_s3_secret_key": creds["MINIO_ROOT_PASSWORD"],
    }
    first = run_role(tmp, variables)
    assert first["rc"] == 0 and not first["failed"], first["failed"] or first["stdout"][-4000:]
    return {"tmp": tmp, "vars": variables, "s3": s3, "bucket": bucket, "first": first, "lab": lab}


def with_models(variables: dict, change) -> dict:
    models = json.loads(json.dumps(variables["model_repository_models"]))
    change(models)
    return {**variables, "model_repository_models": models}


def set_weight(weight: float):
    def change(models):
        models[0]["parameters"]["weight"] = weight

    return change


def test_first_run_publishes_every_source(site):
    secret = site["vars"]["model_repository_s3_secret_key"]
    assert secret not in site["first"]["stdout"], "the secret key reached the output"
    published = site["first"]["tasks"][PUBLISH_S3]
    assert published["changed"] is True, published
    assert published["models"] == ["echo", "fetched", "labels", "linear"], published
    keys = set(bucket_state(site["s3"], site["bucket"]))
    for key in with_manifest(
        [
            "linear/config.pbtxt",
            "linear/1/model.py",
            "labels/labels.txt",
            "labels/1/model.py",
            "echo/config.pbtxt",
            "echo/1/model.py",
            "fetched/config.pbtxt",
            "fetched/1/model.py",
        ]
    ):
        assert key in keys, sorted(keys)


def test_rerun_changes_nothing_and_check_mode_predicts_the_weight_change(site):
    tmp, variables = site["tmp"], site["vars"]
    again = run_role(tmp, variables)
    assert again["stats"]["changed"] == 0, [n for n, r in again["tasks"].items() if r.get("changed")]
    assert again["tasks"][PUBLISH_S3]["bytes_uploaded"] == 0

    before = bucket_state(site["s3"], site["bucket"])
    build_config = tmp / "build" / "linear" / "config.pbtxt"
    build_mtime = build_config.stat().st_mtime_ns
    edited = with_models(variables, set_weight(4.0))
    predicted = run_role(tmp, edited, check=True, diff=True)
    assert predicted["rc"] == 0 and not predicted["failed"], predicted["failed"]
    publish = predicted["tasks"][PUBLISH_S3]
    assert publish["changed"] is True and publish["modified"] == ["linear/config.pbtxt"], publish
    assert publish["added"] == [] and publish["deleted"] == [], publish
    assert bucket_state(site["s3"], site["bucket"]) == before, "check mode wrote to the bucket"
    assert build_config.stat().st_mtime_ns == build_mtime, "check mode wrote to the build directory"
    assert 'string_value: "2.0"' in build_config.read_text()

    real = run_role(tmp, edited)
    assert real["rc"] == 0 and not real["failed"], real["failed"]
    assert real["stats"]["changed"] == predicted["stats"]["changed"], (real["stats"], predicted["stats"])
    publish = real["tasks"][PUBLISH_S3]
    assert publish["modified"] == ["linear/config.pbtxt"] and publish["models_changed"] == ["linear"], publish
    after = bucket_state(site["s3"], site["bucket"])
    # what the edit sent grows with what changed: the file and the one manifest shard recording it
    assert {k for k in after if after[k] != before.get(k)} == {"linear/config.pbtxt", shard_of("linear/config.pbtxt")}
    site["vars"] = edited


def test_wrong_sha256_fails_before_publishing(site):
    before = bucket_state(site["s3"], site["bucket"])

    def wrong(models):
        models[3]["sha256"] = "0" * 64

    result = run_role(site["tmp"], with_models(site["vars"], wrong))
    assert result["rc"] != 0
    message = " ".join(str(failure[1]) for failure in result["failed"])
    assert "model_repository_models[3] (fetched)" in message and "checksum" in message, message
    assert "sha256" in message and "Nothing was published" in message, message
    assert PUBLISH_S3 not in result["tasks"], "the publish must not start"
    assert bucket_state(site["s3"], site["bucket"]) == before


def test_malformed_config_mapping_fails_in_preflight(site):
    before = bucket_state(site["s3"], site["bucket"])

    def bad_type(models):
        models[3]["config"] = {**ECHO_CONFIG, "input": [{"name": "IN", "data_type": "FP33", "dims": [2]}]}

    result = run_role(site["tmp"], with_models(site["vars"], bad_type))
    assert result["rc"] != 0
    task, message = result["failed"][0]
    assert task.startswith("Preflight"), result["failed"]
    assert "model_repository_models[3] (fetched).config.input[0]" in message and "'FP33'" in message, message
    assert "FP32" in message, message

    def unknown_field(models):
        models[2]["config"] = {**ECHO_CONFIG, "max_batch": 4}

    result = run_role(site["tmp"], with_models(site["vars"], unknown_field))
    task, message = result["failed"][0]
    assert task.startswith("Preflight") and "model_repository_models[2] (echo).config" in message, message
    assert 'no field named "max_batch"' in message, message

    def no_source(models):
        models.append({"name": "ghost", "git": "https://example.invalid/x"})

    result = run_role(site["tmp"], with_models(site["vars"], no_source))
    task, message = result["failed"][0]
    assert "model_repository_models[4] (ghost): give exactly one source" in message, message

    def missing_dir(models):
        models[2]["src"] = str(site["tmp"] / "nowhere")

    result = run_role(site["tmp"], with_models(site["vars"], missing_dir))
    task, message = result["failed"][0]
    assert "model_repository_models[2] (echo).src" in message and "is not a directory" in message, message
    assert bucket_state(site["s3"], site["bucket"]) == before


def infer(values: list[float]) -> list[float]:
    """linear's answer, through the collection's own Triton client."""
    tensors = [{"name": "INPUT0", "datatype": "FP32", "shape": [len(values), 1], "data": values}]
    answer = TritonClient(TRITON_URL, timeout=30).infer("linear", http_request_body(tensors))
    return answer["outputs"][0]["data"]


def test_triton_reloads_the_changed_model(site, tmp_path):
    lab = site["lab"]
    proc = labtriton.start_triton(lab, PORTS, tmp_path / "tritonserver.log", bucket=site["bucket"])
    try:
        labtriton.wait_ready(proc, TRITON_URL)
        variables = {**site["vars"], "model_repository_triton_urls": [TRITON_URL]}
        loaded = run_role(site["tmp"], variables)
        assert loaded["rc"] == 0 and not loaded["failed"], loaded["failed"]
        weight = variables["model_repository_models"][0]["parameters"]["weight"]
        assert infer([1.0, 2.0]) == [weight + 1, 2 * weight + 1]
        features = [5.1, 3.5, 1.4, 0.2, 6.7, 3.1, 5.8, 2.2]
        rows = [{"name": "INPUT0", "datatype": "FP32", "shape": [2, 4], "data": features}]
        outputs = TritonClient(TRITON_URL, timeout=30).infer("labels", http_request_body(rows))["outputs"]
        answers = {out["name"]: out["data"] for out in outputs}
        assert answers == {"LABEL": ["setosa", "virginica"], "CLASS": [0, 2]}, answers

        steady = run_role(site["tmp"], variables)
        assert steady["stats"]["changed"] == 0, [n for n, r in steady["tasks"].items() if r.get("changed")]

        edited = with_models(variables, set_weight(7.0))
        predicted = run_role(site["tmp"], edited, check=True)
        serve = predicted["tasks"]["Serve | Load each model on each Triton, reloading those the publish changed"]
        reloaded = [r["item"][1] for r in serve["results"] if r.get("changed")]
        assert reloaded == ["linear"], serve
        assert infer([1.0]) == [weight + 1], "check mode reloaded"

        real = run_role(site["tmp"], edited)
        assert real["rc"] == 0 and not real["failed"], real["failed"]
        serve = real["tasks"]["Serve | Load each model on each Triton, reloading those the publish changed"]
        assert [r["item"][1] for r in serve["results"] if r.get("changed")] == ["linear"], serve
        assert infer([1.0, 2.0, -3.5]) == [8.0, 15.0, -23.5]
    except Exception:
        print((tmp_path / "tritonserver.log").read_text(errors="replace")[-6000:])
        raise
    finally:
        labtriton.stop(proc)


def test_filesystem_store(tmp_path):
    dest = tmp_path / "export"
    dest.mkdir()
    variables = {
        "model_repository_models": [
            {"name": "linear", "example": "linear"},
            {"name": "labels", "example": "labels", "version": 3},
        ],
        "model_repository_build_dir": str(tmp_path / "build"),
        "model_repository_store": "filesystem",
        "model_repository_dest_path": str(dest),
    }
    first = run_role(tmp_path, variables)
    assert first["rc"] == 0 and not first["failed"], first["failed"]
    assert first["tasks"][PUBLISH_DIR]["models_changed"] == ["labels", "linear"]
    files = sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*") if p.is_file())
    assert files == with_manifest(
        ["labels/3/model.py", "labels/config.pbtxt", "labels/labels.txt", "linear/1/model.py", "linear/config.pbtxt"]
    )
    assert run_role(tmp_path, variables)["stats"]["changed"] == 0

    # a model dropped from the list leaves the build directory and the store
    variables["model_repository_models"] = variables["model_repository_models"][:1]
    dropped = run_role(tmp_path, variables)
    assert dropped["tasks"][PUBLISH_DIR]["models_changed"] == ["labels"], dropped["tasks"][PUBLISH_DIR]
    assert not (dest / "labels").exists() and not (tmp_path / "build" / "labels").exists()


def test_nfs_store_on_a_remote_host(node_factory, tmp_path):
    """A remote destination (an nfs_server node): validated on the controller, staged and published there."""
    node = node_factory("model-repo")
    subprocess.run(["docker", "exec", node, "mkdir", "-p", "/srv/nfs/models"], check=True, timeout=60)
    inventory = tmp_path / "hosts.ini"
    inventory.write_text(
        f"localhost ansible_connection=local ansible_python_interpreter={sys.executable}\n"
        f"nfs0 ansible_connection=community.docker.docker ansible_host={node}"
        " ansible_python_interpreter=/usr/bin/python3\n"
    )
    variables = {
        "model_repository_models": [{"name": "linear", "example": "linear"}, {"name": "labels", "example": "labels"}],
        "model_repository_build_dir": str(tmp_path / "build"),
        "model_repository_store": "nfs",
        "model_repository_dest_host": "nfs0",
        "model_repository_dest_path": "/srv/nfs/models",
    }
    publish = "Publish | Publish the staged repository on nfs0"

    def listing() -> list[str]:
        found = subprocess.run(
            ["docker", "exec", node, "find", "/srv/nfs/models", "-type", "f", "-printf", "%P\\n"],
            check=True,
            capture_output=True,
            text=True,
            timeout=60,
        )
        return sorted(found.stdout.split())

    first = run_role(tmp_path, variables, inventory=str(inventory))
    assert first["rc"] == 0 and not first["failed"], first["failed"] or first["stdout"][-3000:]
    assert first["tasks"][publish]["models_changed"] == ["labels", "linear"]
    assert listing() == with_manifest(
        ["labels/1/model.py", "labels/config.pbtxt", "labels/labels.txt", "linear/1/model.py", "linear/config.pbtxt"]
    )
    assert run_role(tmp_path, variables, inventory=str(inventory))["stats"]["changed"] == 0

    variables["model_repository_models"] = variables["model_repository_models"][:1]
    dropped = run_role(tmp_path, variables, inventory=str(inventory))
    assert dropped["tasks"][publish]["models_changed"] == ["labels"], dropped["tasks"][publish]
    assert listing() == with_manifest(["linear/1/model.py", "linear/config.pbtxt"])
