# Copyright: edgeai.inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""IAM policy documents and bucket names for MinIO: pure functions, no SDK.

MinIO stores a policy in its own normal form (one-element lists for Action and
Resource, Sid dropped when empty, condition values as lists), so documents are
compared in a canonical form, never as text.
"""

from __future__ import annotations

import json
import re
from typing import Any

from ansible_collections.edgeai.inference.plugins.module_utils.errors import MinioError

POLICY_VERSION = "2012-10-17"

# Statement keys whose values are a string or a list of strings, compared as sets.
_LIST_KEYS = ("Action", "NotAction", "Resource", "NotResource")

# The only actions a model-serving client needs: find the bucket, list it, read objects.
READ_ONLY_BUCKET_ACTIONS = ("s3:GetBucketLocation", "s3:ListBucket")
READ_ONLY_OBJECT_ACTIONS = ("s3:GetObject",)

_BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_IPV4_LIKE = re.compile(r"^\d{1,3}(\.\d{1,3}){3}$")


def bucket_name_problem(name: str) -> str | None:
    """Why ``name`` is not a valid S3 bucket name, or None when it is."""
    if not _BUCKET_NAME.match(name):
        return (
            f"bucket name '{name}' must be 3 to 63 characters of lowercase letters, digits, dots and "
            "hyphens, starting and ending with a letter or digit"
        )
    if ".." in name or ".-" in name or "-." in name:
        return f"bucket name '{name}' must not have two dots, or a dot next to a hyphen, in a row"
    if _IPV4_LIKE.match(name):
        return f"bucket name '{name}' must not look like an IP address"
    return None


def read_only_bucket_policy(bucket: str, prefix: str = "") -> dict[str, Any]:
    """A policy that lets its holder list ``bucket`` (under ``prefix``) and read its objects, nothing else."""
    problem = bucket_name_problem(bucket)
    if problem:
        raise MinioError(problem, bucket=bucket)
    prefix = prefix.lstrip("/")
    listing: dict[str, Any] = {
        "Effect": "Allow",
        "Action": list(READ_ONLY_BUCKET_ACTIONS),
        "Resource": [f"arn:aws:s3:::{bucket}"],
    }
    if prefix:
        # GetBucketLocation takes no prefix: give it its own statement so the condition
        # limits only the listing.
        listing = {
            "Effect": "Allow",
            "Action": ["s3:ListBucket"],
            "Resource": [f"arn:aws:s3:::{bucket}"],
            "Condition": {"StringLike": {"s3:prefix": [f"{prefix}*"]}},
        }
    statements = [
        listing,
        {
            "Effect": "Allow",
            "Action": list(READ_ONLY_OBJECT_ACTIONS),
            "Resource": [f"arn:aws:s3:::{bucket}/{prefix}*"],
        },
    ]
    if prefix:
        statements.insert(
            0, {"Effect": "Allow", "Action": ["s3:GetBucketLocation"], "Resource": [f"arn:aws:s3:::{bucket}"]}
        )
    return {"Version": POLICY_VERSION, "Statement": statements}


def _as_sorted_list(value: Any, where: str) -> list[str]:
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise MinioError(f"{where} must be a string or a list of strings, not {json.dumps(value)}")
    return sorted(set(values))


def _condition_value(value: Any) -> str:
    # JSON booleans and numbers come back from MinIO as strings.
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _normalize_condition(condition: Any, where: str) -> dict[str, dict[str, list[str]]]:
    if not isinstance(condition, dict):
        raise MinioError(f"{where} must be a mapping of operator to {{key: values}}")
    normal: dict[str, dict[str, list[str]]] = {}
    for operator, pairs in condition.items():
        if not isinstance(pairs, dict):
            raise MinioError(f"{where}.{operator} must be a mapping of condition key to values")
        normal[operator] = {
            key: _as_sorted_list(
                [_condition_value(v) for v in values] if isinstance(values, list) else _condition_value(values),
                f"{where}.{operator}.{key}",
            )
            for key, values in pairs.items()
        }
    return normal


def _normalize_statement(statement: Any, index: int) -> dict[str, Any]:
    where = f"Statement[{index}]"
    if not isinstance(statement, dict):
        raise MinioError(f"{where} of the policy must be a mapping")
    effect = statement.get("Effect")
    if effect not in ("Allow", "Deny"):
        raise MinioError(f"{where}.Effect must be Allow or Deny, not {effect!r}")
    if "Action" not in statement and "NotAction" not in statement:
        raise MinioError(f"{where} needs Action or NotAction")
    normal: dict[str, Any] = {"Effect": effect}
    for key, value in statement.items():
        if key == "Effect" or (key == "Sid" and not value):
            continue
        if key in _LIST_KEYS:
            normal[key] = _as_sorted_list(value, f"{where}.{key}")
        elif key == "Condition":
            normal[key] = _normalize_condition(value, f"{where}.Condition")
        else:
            normal[key] = value
    return normal


def normalize_policy(document: dict[str, Any] | str) -> dict[str, Any]:
    """The canonical form of a policy document (JSON text or mapping): equal meaning, equal form."""
    if isinstance(document, str):
        try:
            document = json.loads(document)
        except ValueError as exc:
            raise MinioError(f"the policy is not valid JSON: {exc}") from exc
    if not isinstance(document, dict):
        raise MinioError("the policy must be a JSON object with Version and Statement")
    statements = document.get("Statement")
    if isinstance(statements, dict):
        statements = [statements]
    if not isinstance(statements, list) or not statements:
        raise MinioError("the policy needs a non-empty Statement list")
    normal = [_normalize_statement(s, i) for i, s in enumerate(statements)]
    unique = {json.dumps(s, sort_keys=True): s for s in normal}
    return {
        "Version": document.get("Version") or POLICY_VERSION,
        "Statement": [unique[key] for key in sorted(unique)],
    }


def policies_equal(left: dict[str, Any] | str, right: dict[str, Any] | str) -> bool:
    """Whether two policy documents grant the same, written however MinIO or the user wrote them."""
    return normalize_policy(left) == normalize_policy(right)
