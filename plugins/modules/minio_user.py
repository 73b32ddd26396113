#!/usr/bin/python
# Copyright: edgeai.inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Create, update or remove a MinIO user and the policies attached to it."""

from __future__ import annotations

DOCUMENTATION = r"""
module: minio_user
short_description: Create, update or remove a MinIO user and its attached policies
version_added: 0.1.0
description:
  - Brings a user of MinIO's built-in identity provider to the wanted state through the admin API of the MinIO
    Python SDK; the user's access key is its name.
  - MinIO never tells a user's secret key. With O(update_secret=always) the module finds out whether the secret is
    right by signing one read-only request with it, and sets it only when MinIO refuses it.
  - V(present) means enabled; a disabled user is enabled again.
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
      - Access key of the user (3 to 128 characters).
    type: str
    required: true
  user_secret_key:
    description:
      - Secret key of the user (8 to 40 characters). Required with O(state=present).
    type: str
  state:
    description:
      - V(present) creates or updates the user; V(absent) removes it.
    type: str
    choices: [present, absent]
    default: present
  policies:
    description:
      - Names of the canned policies the user holds, exactly; others are detached. V([]) detaches all.
      - Left as they are when unset. Every policy must exist (see M(edgeai.inference.minio_policy)).
    type: list
    elements: str
  update_secret:
    description:
      - V(always) sets O(user_secret_key) when MinIO does not accept it for this user.
      - V(on_create) sets it only when the user is created.
    type: str
    choices: [always, on_create]
    default: always
"""

EXAMPLES = r"""
- name: Read-only user for Triton
  edgeai.inference.minio_user:
    endpoint_url: https://minio.example:9000
    access_key: "{{ minio_root_user }}"
    secret_key: "{{ minio_root_password }}"
    ca_path: /etc/ssl/minio-ca.crt
    name: triton
    user_secret_key: "{{ triton_secret_key }}"
    policies:
      - models-readonly

- name: Remove a user
  edgeai.inference.minio_user:
    endpoint_url: https://minio.example:9000
    name: former-colleague
    state: absent
"""

RETURN = r"""
user:
  description: The user after the task (as it would be, in check mode); never its secret key.
  returned: when the user exists after the task
  type: dict
  contains:
    name:
      description: Access key of the user.
      type: str
      sample: triton
    status:
      description: V(enabled) or V(disabled).
      type: str
      sample: enabled
    policies:
      description: Names of the attached policies, sorted.
      type: list
      elements: str
      sample: [models-readonly]
secret_updated:
  description: Whether the task set (or, in check mode, would set) the user's secret key.
  returned: always
  type: bool
  sample: false
error:
  description: On failure, the error's class as C(type), the S3 details C(endpoint) and C(code), and the
    C(missing_policies) to attach that MinIO does not have.
  returned: failure
  type: dict
  sample: {"type": "MinioError", "endpoint": "https://minio.example:9000", "missing_policies": ["models-readonly"]}
"""

from functools import partial

from ansible_collections.edgeai.inference.plugins.module_utils.base import ModuleRun, Requirement, run_module
from ansible_collections.edgeai.inference.plugins.module_utils.errors import MinioError
from ansible_collections.edgeai.inference.plugins.module_utils.minio.client import (
    MINIO_IMPORT_ERROR,
    MinioClient,
    UserState,
    client_from_params,
    state_dict,
)
from ansible_collections.edgeai.inference.plugins.module_utils.s3_connection import MINIO_CONNECTION_ARGUMENT_SPEC

ARGUMENT_SPEC = {
    **MINIO_CONNECTION_ARGUMENT_SPEC,
    "name": {"type": "str", "required": True},
    "user_secret_key": {"type": "str", "no_log": True},
    "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
    "policies": {"type": "list", "elements": "str"},
    "update_secret": {"type": "str", "choices": ["always", "on_create"], "default": "always", "no_log": False},
}


def check_params(params: dict) -> None:
    name, secret = params["name"], params["user_secret_key"]
    if not 3 <= len(name) <= 128:
        raise MinioError(f"user name (access key) '{name}' must be 3 to 128 characters long")
    if name == params["access_key"]:
        raise MinioError(f"'{name}' is the account the module logs in with; manage another user")
    if secret is not None and not 8 <= len(secret) <= 40:
        raise MinioError(f"user_secret_key of user '{name}' must be 8 to 40 characters long")


def secret_needs_setting(client: MinioClient, before: UserState | None, params: dict) -> bool:
    if before is None:
        return True
    if params["update_secret"] == "on_create":
        return False
    if before.status != "enabled":
        # MinIO refuses every request of a disabled user: the secret cannot be checked.
        return True
    return not client.credentials_valid(params["name"], params["user_secret_key"])


def reconcile(run: ModuleRun) -> None:
    params, result = run.params, run.result
    name = params["name"]
    check_params(params)
    client = run.closing(client_from_params(params))
    client.whoami()
    before = client.user(name)
    after: UserState | None = None
    attach: list[str] = []
    detach: list[str] = []
    if params["state"] == "present":
        current = before.policies if before else []
        wanted = sorted(set(params["policies"])) if params["policies"] is not None else current
        attach = [p for p in wanted if p not in current]
        detach = [p for p in current if p not in wanted]
        missing = [p for p in attach if client.policy(p) is None]
        if missing:
            raise MinioError(
                f"cannot attach {', '.join(missing)} to user '{name}': no such policy on MinIO at "
                f"{client.endpoint}. Create it first (edgeai.inference.minio_policy).",
                endpoint=client.endpoint,
                missing_policies=missing,
            )
        result["secret_updated"] = secret_needs_setting(client, before, params)
        after = UserState(name=name, status="enabled", policies=wanted)
    changes = []
    if after is None:
        if before is not None:
            changes.append(partial(client.remove_user, name))
    else:
        if result["secret_updated"]:
            changes.append(partial(client.put_user, name, params["user_secret_key"]))
        elif before is not None and before.status != "enabled":
            changes.append(partial(client.enable_user, name))
        if detach:
            changes.append(partial(client.detach_policies, name, detach))
        if attach:
            changes.append(partial(client.attach_policies, name, attach))
    run.set_diff(state_dict(before), state_dict(after))
    if run.apply(changes) and after is not None:
        after = client.user(name)
    if after is not None:
        result["user"] = after.as_dict()


def main() -> None:
    run_module(
        ARGUMENT_SPEC,
        reconcile,
        requirements=[Requirement("minio", MINIO_IMPORT_ERROR)],
        result={"changed": False, "secret_updated": False},
        required_if=[("state", "present", ("user_secret_key",))],
        supports_check_mode=True,
    )


if __name__ == "__main__":
    main()
