#!/usr/bin/python
# Copyright: edgeai.inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Publish a local Triton model repository to an S3 bucket (MinIO) or a filesystem path."""

from __future__ import annotations

DOCUMENTATION = r"""
module: model_repository_sync
short_description: Publish a Triton model repository to S3/MinIO or a filesystem path
version_added: 0.1.0
description:
  - Validates a local Triton model repository, then brings a destination to the same content, for
    Triton to load with C(--model-repository=s3://...) or from an NFS export or a mounted PVC.
  - B(Validation first.) Every model directory needs a C(config.pbtxt) that parses with Triton's
    own ModelConfig protobuf schema (from tritonclient) and whose C(name), when set, matches the
    directory; version directories are positive integers without a leading zero and hold the file
    the platform or backend loads (C(model.onnx), C(model.pt), C(model.graphdef), C(model.plan),
    C(model.savedmodel/), C(model.py), C(model.xml), or the config's C(default_model_filename)).
    Every problem is listed in one error, and nothing is written.
  - B(Idempotent by content.) The destination keeps a manifest with the sha256, size and stamp
    of each file it wrote (the S3 ETag, or size and mtime on a filesystem), in up to 64 shards at
    the repository root, C(.edgeai-manifest-<nn>.json) (Triton loads directories only, so it
    ignores them); each file's record lives in the shard its path hashes to, so a publish rewrites
    only the shards whose records changed. The single C(.edgeai-manifest.json) of earlier releases
    is read, and removed once the shards hold its records. One listing per
    prefix tells whether each object is still the one recorded; no object is read or HEAD-requested.
    A local file is hashed again only when its size or mtime changed since it was recorded (see
    O(rehash)). Unchanged content sends nothing and reports C(changed=false).
  - B(Safe for a live Triton.) Version and other files go first, each model's C(config.pbtxt) after
    them, stale files are deleted last and only with O(delete=true), and the changed manifest shards
    are written at the end. On a filesystem each file is written under a temporary name and renamed into place.
  - B(Failures.) A file that fails holds back its model's C(config.pbtxt) and every delete; an
    unreachable store stops the rest. The error lists the files published and those not, the
    manifest records what reached the store, and a re-run sends only what is missing.
  - Uploads run in parallel (O(workers)); files larger than O(part_size_mb) go up in parts read in
    order, with at most O(workers) parts in memory. Each upload carries its sha256 as
    C(x-amz-checksum-sha256), which the server checks.
author:
  - edgeai.inference maintainers (@edgeai)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - edgeai.inference.s3_connection
attributes:
  check_mode:
    support: full
    details: Lists, reads the manifest and hashes what it must to predict; writes nothing.
  diff_mode:
    support: full
    details: One line per destination file with its path and short sha256, before and after.
  platform:
    platforms: posix
requirements:
  - tritonclient[grpc] and protobuf (for the ModelConfig schema; not needed with O(validate=false)).
    S3 needs nothing beyond Python; the module signs its own requests (AWS Signature V4).
options:
  src:
    description:
      - Local model repository on the host that runs the module, with one directory per model.
    type: path
    required: true
  bucket:
    description:
      - S3 bucket to publish to. Exactly one of O(bucket) and O(dest_path).
    type: str
  prefix:
    description:
      - Key prefix in O(bucket) under which the repository lives, for example C(triton) for
        C(s3://.../models/triton).
    type: str
    default: ""
  dest_path:
    description:
      - Filesystem directory to publish to (an NFS export, a mounted PVC). It must exist; the module
        does not create it, so that a mistyped path fails instead of publishing somewhere else.
    type: path
  delete:
    description:
      - Delete destination files that are not in O(src) (after every upload succeeded). When false,
        they are reported as RV(stale).
    type: bool
    default: false
  exclude:
    description:
      - Glob patterns; a file is skipped when one matches its relative path or any path component.
        Destination files they match are never compared or deleted.
    type: list
    elements: str
    default: [".*", "__pycache__", "*.pyc"]
  include:
    description:
      - Glob patterns on the relative path; when given, only matching files are published (and
        only matching destination files are compared or deleted).
    type: list
    elements: str
    default: []
  validate:
    description:
      - Check Triton's layout and parse every C(config.pbtxt) before touching the destination.
    type: bool
    default: true
  rehash:
    description:
      - Hash every local file, even those whose size and mtime match the manifest's record. Catches
        an edit that kept both (a copy with preserved mtime).
    type: bool
    default: false
  workers:
    description:
      - Files (and parts) uploaded at once.
    type: int
    default: 8
  part_size_mb:
    description:
      - Files above this many MiB are uploaded in parts of this size (5 at least).
    type: int
    default: 16
  retries:
    description:
      - Retries of each S3 request on transient errors (connection errors, timeouts, throttling,
        5xx), with exponential backoff and jitter.
    type: int
    default: 5
  timeout:
    description:
      - Seconds to wait for the S3 endpoint to connect or answer.
    type: float
    default: 60
notes:
  - With O(bucket) and no O(endpoint_url), the module publishes to AWS's regional endpoint of O(region). Requests are
    path-style (C(<endpoint>/<bucket>/<key>)) and go straight to the endpoint (no HTTP proxy).
  - Credentials are needed only with O(bucket); with O(dest_path) the connection options are not used.
  - The destination's manifest is the module's record; publishing the same prefix with another tool
    too makes the module send the files it can no longer vouch for once, then it is idempotent again.
seealso:
  - module: edgeai.inference.triton_model
  - module: edgeai.inference.triton_server_info
"""

EXAMPLES = r"""
- name: Publish the repository to MinIO over TLS
  edgeai.inference.model_repository_sync:
    src: /srv/model_repository
    bucket: models
    endpoint_url: https://minio.example:9000
    ca_path: /etc/edgeai/minio-ca.pem
    access_key: "{{ minio_publisher_access_key }}"
    secret_key: "{{ minio_publisher_secret_key }}"
    delete: true

- name: Publish to the NFS export that backs models-pvc
  edgeai.inference.model_repository_sync:
    src: /srv/model_repository
    dest_path: /srv/nfs/models
"""

RETURN = r"""
destination:
  description: Where the repository went.
  returned: always
  type: str
  sample: s3://models/ at https://minio.example:9000
models:
  description: Model directories in O(src).
  returned: always
  type: list
  elements: str
  sample: [labels, linear]
models_changed:
  description:
    - Models with a file added, modified or deleted (predicted in check mode). A Triton in EXPLICIT
      mode serves the change once the model is loaded again (M(edgeai.inference.triton_model) with
      O(edgeai.inference.triton_model#module:reload=true)).
  returned: always
  type: list
  elements: str
  sample: [linear]
added:
  description: Files new to the destination (relative paths).
  returned: always
  type: list
  elements: str
  sample: [linear/2/model.py]
modified:
  description: Files whose content differs from the destination's.
  returned: always
  type: list
  elements: str
  sample: [linear/config.pbtxt]
deleted:
  description: Destination files deleted (with O(delete=true)); in check mode, those that would be.
  returned: always
  type: list
  elements: str
stale:
  description: Destination files absent from O(src), left in place because O(delete=false).
  returned: always
  type: list
  elements: str
unchanged:
  description: Number of files already identical at the destination.
  returned: always
  type: int
  sample: 12
bytes_uploaded:
  description: Bytes of file content (and manifest) sent; 0 in check mode and when nothing changed.
  returned: always
  type: int
  sample: 0
error:
  description: On failure, the error's class as C(type), the S3 details C(endpoint), C(bucket) and C(code); on an
    incomplete publish C(published) (the files that reached the destination), C(not_published) (each file that did
    not, with the reason) and C(manifest_error); on an invalid repository C(problems) (every problem found).
  returned: failure
  type: dict
  sample: {"type": "PublishIncomplete", "published": [], "not_published": {"linear/2/model.onnx": "timed out"}}
"""

from ansible_collections.edgeai.inference.plugins.module_utils.base import ModuleRun, Requirement, run_module
from ansible_collections.edgeai.inference.plugins.module_utils.errors import ModelRepositoryError
from ansible_collections.edgeai.inference.plugins.module_utils.model_repository import layout, store_s3
from ansible_collections.edgeai.inference.plugins.module_utils.model_repository.store_fs import FilesystemStore
from ansible_collections.edgeai.inference.plugins.module_utils.model_repository.sync import publish
from ansible_collections.edgeai.inference.plugins.module_utils.s3_connection import S3_CONNECTION_ARGUMENT_SPEC

ARGUMENT_SPEC = {
    **S3_CONNECTION_ARGUMENT_SPEC,
    "src": {"type": "path", "required": True},
    "bucket": {"type": "str"},
    "prefix": {"type": "str", "default": ""},
    "dest_path": {"type": "path"},
    "delete": {"type": "bool", "default": False},
    "exclude": {"type": "list", "elements": "str", "default": [".*", "__pycache__", "*.pyc"]},
    "include": {"type": "list", "elements": "str", "default": []},
    "validate": {"type": "bool", "default": True},
    "rehash": {"type": "bool", "default": False},
    "workers": {"type": "int", "default": 8},
    "part_size_mb": {"type": "int", "default": 16},
    "retries": {"type": "int", "default": 5},
    "timeout": {"type": "float", "default": 60},
}


def open_store(params: dict) -> store_s3.S3Store | FilesystemStore:
    if not params["bucket"]:
        return FilesystemStore(params["dest_path"])
    return store_s3.S3Store(
        bucket=params["bucket"],
        prefix=params["prefix"],
        endpoint_url=params["endpoint_url"],
        region=params["region"],
        access_key=params["access_key"],
        secret_key=params["secret_key"],
        session_token=params["session_token"],
        ca_path=params["ca_path"],
        validate_certs=params["validate_certs"],
        workers=params["workers"],
        part_size_mib=params["part_size_mb"],
        retries=params["retries"],
        timeout=params["timeout"],
    )


def reconcile(run: ModuleRun) -> None:
    params = run.params
    if params["workers"] < 1 or params["retries"] < 0:
        raise ModelRepositoryError("workers must be at least 1 and retries at least 0")
    store = run.closing(open_store(params))
    # An incomplete publish raises PublishIncomplete, whose result says what did reach the store.
    report = publish(
        params["src"],
        store,
        delete=params["delete"],
        exclude=params["exclude"],
        include=params["include"],
        validate=params["validate"],
        rehash=params["rehash"],
        workers=params["workers"],
        check_mode=run.check_mode,
        want_diff=run.diff_mode,
    )
    run.result.update(report.as_dict(), changed=report.changed)
    if report.diff:
        run.set_diff(**report.diff)


def main() -> None:
    run_module(
        ARGUMENT_SPEC,
        reconcile,
        requirements=[
            Requirement(
                "tritonclient[grpc]", layout.MODEL_CONFIG_IMPORT_ERROR, needed=lambda params: params["validate"]
            )
        ],
        required_one_of=[("bucket", "dest_path")],
        mutually_exclusive=[("bucket", "dest_path")],
        supports_check_mode=True,
    )


if __name__ == "__main__":
    main()
