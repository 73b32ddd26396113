"""Pure logic of the MinIO modules: policy documents, their comparison, bucket names, versioning."""

from __future__ import annotations

import json

import pytest

from ansible_collections.edgeai.inference.plugins.module_utils.errors import EdgeAIError, MinioError
from ansible_collections.edgeai.inference.plugins.module_utils.minio.client import BucketState
from ansible_collections.edgeai.inference.plugins.module_utils.minio.policy import (
    bucket_name_problem,
    normalize_policy,
    policies_equal,
    read_only_bucket_policy,
)
from ansible_collections.edgeai.inference.plugins.modules.minio_bucket import wanted_state

# What the lab's MinIO answered to info-canned-policy for a policy written as
# read_only_bucket_policy("models") writes it: its own normal form.
MINIO_STORED_READ_ONLY = """{
 "Version": "2012-10-17",
 "Statement": [
  {"Effect": "Allow", "Action": ["s3:GetBucketLocation", "s3:ListBucket"], "Resource": ["arn:aws:s3:::models"]},
  {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": ["arn:aws:s3:::models/*"]}
 ]
}"""


def allowed(policy: dict) -> set[tuple[str, str]]:
    """Every (action, resource) pair a policy allows."""
    return {
        (action, resource)
        for statement in policy["Statement"]
        if statement["Effect"] == "Allow"
        for action in statement["Action"]
        for resource in statement["Resource"]
    }


def test_read_only_policy_allows_exactly_list_and_read():
    policy = read_only_bucket_policy("models")
    assert allowed(policy) == {
        ("s3:GetBucketLocation", "arn:aws:s3:::models"),
        ("s3:ListBucket", "arn:aws:s3:::models"),
        ("s3:GetObject", "arn:aws:s3:::models/*"),
    }
    assert all(s["Effect"] == "Allow" and "Condition" not in s for s in policy["Statement"])


def test_read_only_policy_has_no_write_delete_or_wildcard_action():
    actions = {action for action, _resource in allowed(read_only_bucket_policy("models", "linear/"))}
    assert not any(a.startswith(("s3:Put", "s3:Delete")) or "*" in a for a in actions), actions


def test_read_only_policy_with_prefix_limits_listing_and_reading():
    policy = read_only_bucket_policy("models", "/linear/")
    assert ("s3:GetObject", "arn:aws:s3:::models/linear/*") in allowed(policy)
    assert ("s3:GetObject", "arn:aws:s3:::models/*") not in allowed(policy)
    (listing,) = [s for s in policy["Statement"] if "s3:ListBucket" in s["Action"]]
    assert listing["Condition"] == {"StringLike": {"s3:prefix": ["linear/*"]}}
    assert listing["Action"] == ["s3:ListBucket"]


def test_read_only_policy_refuses_a_bad_bucket_name():
    with pytest.raises(MinioError, match="bucket name 'Models'"):
        read_only_bucket_policy("Models")


def test_minio_stored_form_equals_what_was_sent():
    assert policies_equal(read_only_bucket_policy("models"), MINIO_STORED_READ_ONLY)


def test_strings_and_lists_order_and_empty_sid_do_not_count():
    written = {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::models/*"},
            {
                "Effect": "Allow",
                "Action": ["s3:ListBucket", "s3:GetBucketLocation", "s3:ListBucket"],
                "Resource": "arn:aws:s3:::models",
            },
        ],
    }
    assert policies_equal(written, MINIO_STORED_READ_ONLY)


def test_a_single_statement_mapping_is_a_list_of_one():
    statement = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::models/*"}
    assert normalize_policy({"Statement": statement}) == normalize_policy({"Statement": [statement]})


@pytest.mark.parametrize(
    "change",
    [
        {"Resource": ["arn:aws:s3:::other/*"]},
        {"Action": ["s3:GetObject", "s3:PutObject"]},
        {"Effect": "Deny"},
        {"Sid": "named"},
        {"Condition": {"StringLike": {"s3:prefix": ["a/*"]}}},
    ],
)
def test_a_real_difference_counts(change):
    base = {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": ["arn:aws:s3:::models/*"]}
    assert not policies_equal({"Statement": [base]}, {"Statement": [{**base, **change}]})


def test_condition_values_compare_as_sets_of_strings():
    left = {"Statement": [{"Effect": "Deny", "Action": "s3:*", "Condition": {"Bool": {"aws:SecureTransport": False}}}]}
    right = {
        "Statement": [{"Effect": "Deny", "Action": ["s3:*"], "Condition": {"Bool": {"aws:SecureTransport": ["false"]}}}]
    }
    assert policies_equal(left, right)


def test_duplicate_statements_collapse():
    statement = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::models/*"}
    assert normalize_policy({"Statement": [statement, dict(statement)]})["Statement"] == [
        {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": ["arn:aws:s3:::models/*"]}
    ]


def test_normal_form_is_stable_json():
    once = normalize_policy(MINIO_STORED_READ_ONLY)
    assert normalize_policy(json.dumps(once)) == once


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ("{not json", "not valid JSON"),
        ("[]", "JSON object"),
        ({"Statement": []}, "non-empty Statement"),
        ({"Statement": [{"Action": "s3:GetObject"}]}, "Effect must be Allow or Deny"),
        ({"Statement": [{"Effect": "Allow", "Resource": "arn:aws:s3:::x"}]}, "needs Action or NotAction"),
        ({"Statement": [{"Effect": "Allow", "Action": ["s3:GetObject", 3]}]}, "list of strings"),
        ({"Statement": [{"Effect": "Allow", "Action": "s3:*", "Condition": ["x"]}]}, "Condition must be a mapping"),
    ],
)
def test_invalid_documents_fail_with_the_reason(document, message):
    with pytest.raises(MinioError, match=message) as err:
        normalize_policy(document)
    assert isinstance(err.value, EdgeAIError)


@pytest.mark.parametrize("name", ["models", "a1b", "triton.models-2", "x" * 63])
def test_valid_bucket_names(name):
    assert bucket_name_problem(name) is None


@pytest.mark.parametrize(
    "name", ["ab", "x" * 64, "Models", "-models", "models-", "my_models", "a..b", "a.-b", "192.168.1.10"]
)
def test_invalid_bucket_names(name):
    assert bucket_name_problem(name)


@pytest.mark.parametrize(
    ("before", "versioning", "after"),
    [
        (None, None, "Off"),
        (None, True, "Enabled"),
        (None, False, "Off"),
        ("Off", False, "Off"),
        ("Enabled", False, "Suspended"),
        ("Suspended", True, "Enabled"),
        ("Enabled", None, "Enabled"),
    ],
)
def test_bucket_versioning_transitions(before, versioning, after):
    current = BucketState("models", before) if before else None
    assert wanted_state(current, "models", versioning) == BucketState("models", after)
