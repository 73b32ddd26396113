# Copyright: edgeai.inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One S3 vocabulary for the modules that talk to S3: options, environment fallbacks, error details.

The options are those of the ``s3_connection`` doc fragment. ``model_repository_sync``
takes :data:`S3_CONNECTION_ARGUMENT_SPEC`; the MinIO admin modules take
:data:`MINIO_CONNECTION_ARGUMENT_SPEC`, which requires the endpoint and looks for
MinIO's root credentials (``MINIO_ROOT_USER``/``MINIO_ROOT_PASSWORD``) before the
``AWS_*`` variables. Both clients (``minio/client.py``, ``model_repository/s3_client.py``)
give an error the same detail keys, from :func:`error_details`.
"""

from __future__ import annotations

import os
from typing import Any

from ansible.module_utils.basic import env_fallback

S3_CONNECTION_ARGUMENT_SPEC: dict[str, dict[str, Any]] = {
    "endpoint_url": {"type": "str", "aliases": ["endpoint"], "fallback": (env_fallback, ["AWS_ENDPOINT_URL"])},
    "access_key": {
        "type": "str",
        "aliases": ["aws_access_key_id"],
        "no_log": False,
        "fallback": (env_fallback, ["AWS_ACCESS_KEY_ID"]),
    },
    "secret_key": {
        "type": "str",
        "aliases": ["aws_secret_access_key"],
        "no_log": True,
        "fallback": (env_fallback, ["AWS_SECRET_ACCESS_KEY"]),
    },
    "session_token": {"type": "str", "no_log": True, "fallback": (env_fallback, ["AWS_SESSION_TOKEN"])},
    "region": {"type": "str", "default": "us-east-1"},
    "ca_path": {"type": "path", "fallback": (env_fallback, ["AWS_CA_BUNDLE"])},
    "validate_certs": {"type": "bool", "default": True},
}

MINIO_CONNECTION_ARGUMENT_SPEC: dict[str, dict[str, Any]] = {
    **S3_CONNECTION_ARGUMENT_SPEC,
    "endpoint_url": {**S3_CONNECTION_ARGUMENT_SPEC["endpoint_url"], "required": True},
    "access_key": {
        **S3_CONNECTION_ARGUMENT_SPEC["access_key"],
        "fallback": (env_fallback, ["MINIO_ROOT_USER", "AWS_ACCESS_KEY_ID"]),
    },
    "secret_key": {
        **S3_CONNECTION_ARGUMENT_SPEC["secret_key"],
        "fallback": (env_fallback, ["MINIO_ROOT_PASSWORD", "AWS_SECRET_ACCESS_KEY"]),
    },
    "timeout": {"type": "float", "default": 10},
}


def error_details(endpoint: str, bucket: str | None = None, code: str | None = None) -> dict[str, str]:
    """The details of an S3 error: ``endpoint`` always, ``bucket`` and ``code`` (S3's error code) when known."""
    details = {"endpoint": endpoint}
    if bucket:
        details["bucket"] = bucket
    if code:
        details["code"] = code
    return details


def ca_path_problem(ca_path: str | None) -> str | None:
    """Why ``ca_path`` cannot be used, or None."""
    if ca_path and not os.path.isfile(ca_path):
        return (
            f"ca_path '{ca_path}' is not a file: give the PEM bundle of the CA that signed the endpoint's certificate "
            "(the minio role fetches MinIO's to minio_ca_fetch_path on the controller)"
        )
    return None
