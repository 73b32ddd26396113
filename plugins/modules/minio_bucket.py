#!/usr/bin/python
# Copyright: edgeai.inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Create or remove a MinIO bucket and set its versioning."""

from __future__ import annotations

DOCUMENTATION = r"""
module: minio_bucket
short_description: Create or remove a bucket on MinIO, with optional versioning
version_added: 0.1.0
description:
  - Brings a bucket on a MinIO server to the wanted state through the S3 API of the MinIO Python SDK.
  - Compares first; makes no call that changes anything when the bucket is already as wanted.
  - Never deletes objects; removing a bucket that still holds objects fails with a message that says so.
author:
  - edgeai.inference maintainers (@edgeai)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - edgeai.inference.s3_connection.minio
  - edgeai.inference.s3_connection
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  platform:
    platforms: posix
options:
  name:
    description:
      - Name of the bucket (S3 rules; 3 to 63 lowercase letters, digits, dots and hyphens).
    type: str
    required: true
  state:
    description:
      - V(present) creates the bucket if it is missing; V(absent) removes it if it is empty.
    type: str
    choices: [present, absent]
    default: present
  versioning:
    description:
      - V(true) enables object versioning, V(false) suspends it (a bucket that never had it stays without).
      - Left as it is when unset.
    type: bool
"""

EXAMPLES = r"""
- name: Bucket for Triton's model repository, versioned
  edgeai.inference.minio_bucket:
    endpoint_url: https://minio.example:9000
    access_key: "{{ minio_root_user }}"
    secret_key: "{{ minio_root_password }}"
    ca_path: /etc/ssl/minio-ca.crt
    name: models
    versioning: true

- name: Remove an empty bucket (credentials from MINIO_ROOT_USER / MINIO_ROOT_PASSWORD)
  edgeai.inference.minio_bucket:
    endpoint_url: https://minio.example:9000
    name: scratch
    state: absent
"""

RETURN = r"""
bucket:
  description: The bucket after the task (as it would be, in check mode); absent when it does not exist.
  returned: when the bucket exists after the task
  type: dict
  contains:
    name:
      description: Name of the bucket.
      type: str
      sample: models
    versioning:
      description: V(Enabled), V(Suspended), or V(Off) for a bucket that never had versioning.
      type: str
      sample: Enabled
error:
  description: On failure, the error's class as C(type) and the S3 details C(endpoint), C(bucket) and C(code).
  returned: failure
  type: dict
  sample: {"type": "MinioError", "endpoint": "https://minio.example:9000", "bucket": "models", "code": "BucketNotEmpty"}
"""

from functools import partial

from ansible_collections.edgeai.inference.plugins.module_utils import s3_connection
from ansible_collections.edgeai.inference.plugins.module_utils.base import ModuleRun, Requirement, run_module
from ansible_collections.edgeai.inference.plugins.module_utils.errors import MinioError
from ansible_collections.edgeai.inference.plugins.module_utils.minio.client import (
    MINIO_IMPORT_ERROR,
    BucketState,
    client_from_params,
    state_dict,
)
from ansible_collections.edgeai.inference.plugins.module_utils.minio.policy import bucket_name_problem

ARGUMENT_SPEC = {
    **s3_connection.MINIO_CONNECTION_ARGUMENT_SPEC,
    "name": {"type": "str", "required": True},
    "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
    "versioning": {"type": "bool"},
}


def wanted_state(before: BucketState | None, name: str, versioning: bool | None) -> BucketState:
    current = before.versioning if before else "Off"
    if versioning is None:
        return BucketState(name=name, versioning=current)
    if versioning:
        return BucketState(name=name, versioning="Enabled")
    # Suspending versioning that never was on is no change.
    return BucketState(name=name, versioning="Off" if current == "Off" else "Suspended")


def reconcile(run: ModuleRun) -> None:
    params, result = run.params, run.result
    name = params["name"]
    problem = bucket_name_problem(name)
    if problem:
        raise MinioError(problem, **s3_connection.error_details(params["endpoint_url"], name))
    client = run.closing(client_from_params(params))
    client.whoami()
    before = client.bucket(name)
    after = wanted_state(before, name, params["versioning"]) if params["state"] == "present" else None
    changes = []
    if after is None:
        if before is not None:
            changes.append(partial(client.remove_bucket, name))
    else:
        if before is None:
            changes.append(partial(client.create_bucket, name))
        if after.versioning != (before.versioning if before else "Off"):
            changes.append(partial(client.set_versioning, name, after.versioning == "Enabled"))
    run.set_diff(state_dict(before), state_dict(after))
    if run.apply(changes) and after is not None:
        after = client.bucket(name)
    if after is not None:
        result["bucket"] = after.as_dict()


def main() -> None:
    run_module(
        ARGUMENT_SPEC, reconcile, requirements=[Requirement("minio", MINIO_IMPORT_ERROR)], supports_check_mode=True
    )


if __name__ == "__main__":
    main()
