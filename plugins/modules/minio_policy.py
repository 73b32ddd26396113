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
    endpoint: https://minio.example:9000
    access_key: "{{ minio_root_user }}"
    secret_key: "{{ minio_root_password }}"
    ca_path: /etc/ssl/minio-ca.crt
    name: models-readonly
    read_only_bucket: models

- name: A policy written out
  edgeai.inference.minio_policy:
    endpoint: https://minio.example:9000
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
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.edgeai.inference.plugins.module_utils.errors import EdgeAIError
from ansible_collections.edgeai.inference.plugins.module_utils.minio.client import (
    CONNECTION_ARGUMENT_SPEC,
    MINIO_IMPORT_ERROR,
    client_from_params,
)
from ansible_collections.edgeai.inference.plugins.module_utils.minio.policy import (
    normalize_policy,
    read_only_bucket_policy,
)


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            **CONNECTION_ARGUMENT_SPEC,
            "name": {"type": "str", "required": True},
            "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
            "policy": {"type": "json"},
            "read_only_bucket": {"type": "str"},
            "read_only_prefix": {"type": "str", "default": ""},
        },
        mutually_exclusive=[("policy", "read_only_bucket")],
        required_if=[("state", "present", ("policy", "read_only_bucket"), True)],
        supports_check_mode=True,
    )
    if MINIO_IMPORT_ERROR is not None:
        module.fail_json(msg=missing_required_lib("minio"), exception=MINIO_IMPORT_ERROR)
    params = module.params
    name = params["name"]
    result: dict = {"changed": False}
    try:
        wanted = None
        if params["state"] == "present":
            document = params["policy"]
            if params["read_only_bucket"]:
                document = read_only_bucket_policy(params["read_only_bucket"], params["read_only_prefix"])
            wanted = normalize_policy(document)
        client = client_from_params(params)
        before = client.policy(name)
        result["changed"] = before != wanted
        if module._diff:
            result["diff"] = {"before": before or {}, "after": wanted or {}}
        if result["changed"] and not module.check_mode:
            if wanted is None:
                client.remove_policy(name)
            else:
                client.put_policy(name, wanted)
                wanted = client.policy(name)
        if wanted is not None:
            result["policy"] = wanted
    except EdgeAIError as exc:
        module.fail_json(msg=str(exc), **{**result, **exc.details})
    module.exit_json(**result)


if __name__ == "__main__":
    main()
