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
  - edgeai.inference.minio_connection
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
    endpoint: https://minio.example:9000
    access_key: "{{ minio_root_user }}"
    secret_key: "{{ minio_root_password }}"
    ca_path: /etc/ssl/minio-ca.crt
    name: models
    versioning: true

- name: Remove an empty bucket (credentials from MINIO_ROOT_USER / MINIO_ROOT_PASSWORD)
  edgeai.inference.minio_bucket:
    endpoint: https://minio.example:9000
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
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.edgeai.inference.plugins.module_utils.errors import EdgeAIError, MinioError
from ansible_collections.edgeai.inference.plugins.module_utils.minio.client import (
    CONNECTION_ARGUMENT_SPEC,
    MINIO_IMPORT_ERROR,
    BucketState,
    client_from_params,
)
from ansible_collections.edgeai.inference.plugins.module_utils.minio.policy import bucket_name_problem


def wanted_state(before: BucketState | None, name: str, versioning: bool | None) -> BucketState:
    current = before.versioning if before else "Off"
    if versioning is None:
        return BucketState(name=name, versioning=current)
    if versioning:
        return BucketState(name=name, versioning="Enabled")
    # Suspending versioning that never was on is no change.
    return BucketState(name=name, versioning="Off" if current == "Off" else "Suspended")


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            **CONNECTION_ARGUMENT_SPEC,
            "name": {"type": "str", "required": True},
            "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
            "versioning": {"type": "bool"},
        },
        supports_check_mode=True,
    )
    if MINIO_IMPORT_ERROR is not None:
        module.fail_json(msg=missing_required_lib("minio"), exception=MINIO_IMPORT_ERROR)
    params = module.params
    name = params["name"]
    result: dict = {"changed": False}
    try:
        problem = bucket_name_problem(name)
        if problem:
            raise MinioError(problem, bucket=name)
        client = client_from_params(params)
        before = client.bucket(name)
        after = wanted_state(before, name, params["versioning"]) if params["state"] == "present" else None
        result["changed"] = before != after
        if module._diff:
            result["diff"] = {
                "before": before.as_dict() if before else {},
                "after": after.as_dict() if after else {},
            }
        if result["changed"] and not module.check_mode:
            # On a failure half-way, changed says whether anything was done.
            result["changed"] = False
            if after is None:
                client.remove_bucket(name)
                result["changed"] = True
            else:
                if before is None:
                    client.create_bucket(name)
                    result["changed"] = True
                if after.versioning != (before.versioning if before else "Off"):
                    client.set_versioning(name, after.versioning == "Enabled")
                    result["changed"] = True
                after = client.bucket(name)
        if after is not None:
            result["bucket"] = after.as_dict()
    except EdgeAIError as exc:
        module.fail_json(msg=str(exc), **{**result, **exc.details})
    module.exit_json(**result)


if __name__ == "__main__":
    main()
