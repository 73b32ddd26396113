#!/usr/bin/python
# Copyright: edgeai.inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Create, update or remove a canned IAM policy on MinIO."""

from __future__ import annotations

DOCUMENTATION = r"""
module: minio_policy
short_description: Create, update or remove a canned IAM policy on MinIO
version_added: 0.1.0
description:
  - Brings a canned policy on a MinIO server to the wanted document through the admin API of the MinIO Python SDK.
  - Compares the documents in a canonical form (statement order, one-element lists, empty C(Sid) do not count), so a
    policy MinIO rewrote in its own form is no change.
  - With O(read_only_bucket) the module writes the policy a model-serving client such as Triton needs and nothing
    more; C(s3:GetBucketLocation) and C(s3:ListBucket) on the bucket, C(s3:GetObject) on its objects.
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
      - Name of the policy.
    type: str
    required: true
  state:
    description:
      - V(present) writes the policy if it is missing or differs; V(absent) removes it.
      - MinIO refuses to remove a policy still attached to a user or group.
    type: str
    choices: [present, absent]
    default: present
  policy:
    description:
      - The IAM policy document (JSON text or a mapping with C(Version) and C(Statement)).
      - Exactly one of O(policy) and O(read_only_bucket) is required with O(state=present).
    type: json
  read_only_bucket:
    description:
      - Build the document instead of giving it; list this bucket and read its objects, nothing else.
    type: str
  read_only_prefix:
    description:
      - With O(read_only_bucket), limit listing and reading to keys under this prefix (for example V(models/)).
    type: str
    default: ""
"""

EXAMPLES = r"""
- name: Read-only access to the models bucket for Triton
  edgeai.inference.minio_policy:
    endpoint_url: https://minio.example:9000
    access_key: "{{ minio_root_user }}"
    secret_key: "{{ minio_root_password }}"
    ca_path: /etc/ssl/minio-ca.crt
    name: models-readonly
    read_only_bucket: models

- name: A policy written out
  edgeai.inference.minio_policy:
    endpoint_url: https://minio.example:9000
    name: uploads-writeonly
    policy:
      Version: "2012-10-17"
      Statement:
        - Effect: Allow
          Action: ["s3:PutObject"]
          Resource: ["arn:aws:s3:::uploads/*"]
"""

RETURN = r"""
policy:
  description: The policy document after the task (as it would be, in check mode), in canonical form.
  returned: when the policy exists after the task
  type: dict
  sample:
    Version: "2012-10-17"
    Statement:
      - Effect: Allow
        Action: ["s3:GetBucketLocation", "s3:ListBucket"]
        Resource: ["arn:aws:s3:::models"]
      - Effect: Allow
        Action: ["s3:GetObject"]
        Resource: ["arn:aws:s3:::models/*"]
error:
  description: On failure, the error's class as C(type) and the S3 details C(endpoint) and C(code).
  returned: failure
  type: dict
  sample: {"type": "MinioAuthError", "endpoint": "https://minio.example:9000", "code": "InvalidAccessKeyId"}
"""

from functools import partial

from ansible_collections.edgeai.inference.plugins.module_utils.base import ModuleRun, Requirement, run_module
from ansible_collections.edgeai.inference.plugins.module_utils.minio.client import (
    MINIO_IMPORT_ERROR,
    client_from_params,
)
from ansible_collections.edgeai.inference.plugins.module_utils.minio.policy import (
    normalize_policy,
    read_only_bucket_policy,
)
from ansible_collections.edgeai.inference.plugins.module_utils.s3_connection import MINIO_CONNECTION_ARGUMENT_SPEC

ARGUMENT_SPEC = {
    **MINIO_CONNECTION_ARGUMENT_SPEC,
    "name": {"type": "str", "required": True},
    "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
    "policy": {"type": "json"},
    "read_only_bucket": {"type": "str"},
    "read_only_prefix": {"type": "str", "default": ""},
}


def reconcile(run: ModuleRun) -> None:
    params, result = run.params, run.result
    name = params["name"]
    wanted = None
    if params["state"] == "present":
        document = params["policy"]
        if params["read_only_bucket"]:
            document = read_only_bucket_policy(params["read_only_bucket"], params["read_only_prefix"])
        wanted = normalize_policy(document)
    client = run.closing(client_from_params(params))
    client.whoami()
    before = client.policy(name)
    changes = []
    if wanted is None and before is not None:
        changes.append(partial(client.remove_policy, name))
    elif wanted is not None and before != wanted:
        changes.append(partial(client.put_policy, name, wanted))
    run.set_diff(before or {}, wanted or {})
    if run.apply(changes) and wanted is not None:
        wanted = client.policy(name)
    if wanted is not None:
        result["policy"] = wanted


def main() -> None:
    run_module(
        ARGUMENT_SPEC,
        reconcile,
        requirements=[Requirement("minio", MINIO_IMPORT_ERROR)],
        mutually_exclusive=[("policy", "read_only_bucket")],
        required_if=[("state", "present", ("policy", "read_only_bucket"), True)],
        supports_check_mode=True,
    )


if __name__ == "__main__":
    main()
