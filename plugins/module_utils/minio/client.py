# Copyright: edgeai.inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A MinIO client for the modules: buckets over S3, users and policies over the admin API.

Built on the MinIO Python SDK (``minio``: ``Minio`` for S3, ``MinioAdmin`` for the
admin API) over one urllib3 pool that trusts exactly the CA it is given. Every SDK
or transport failure becomes a :class:`MinioError` whose message names the cause
and the fix.
"""

from __future__ import annotations

import json
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import urlsplit

from ansible_collections.edgeai.inference.plugins.module_utils.errors import (
    MinioAuthError,
    MinioError,
    MinioUnreachable,
)
from ansible_collections.edgeai.inference.plugins.module_utils.minio.policy import normalize_policy
from ansible_collections.edgeai.inference.plugins.module_utils.s3_connection import ca_path_problem, error_details

MINIO_IMPORT_ERROR: str | None
try:
    import urllib3
    from minio import Minio, MinioAdmin
    from minio.commonconfig import ENABLED
    from minio.credentials import StaticProvider
    from minio.error import MinioAdminException, S3Error
    from minio.versioningconfig import SUSPENDED, VersioningConfig
except ImportError:
    MINIO_IMPORT_ERROR = traceback.format_exc()
else:
    MINIO_IMPORT_ERROR = None

# Error codes that mean "these credentials are not accepted" rather than "this request failed".
_CREDENTIAL_CODES = ("InvalidAccessKeyId", "SignatureDoesNotMatch", "XMinioAdminInvalidAccessKey")
_DENIED_CODES = ("AccessDenied", "XMinioAccessDenied")


@dataclass(frozen=True)
class BucketState:
    """A bucket as the module reports it; versioning is Enabled, Suspended or Off (never enabled)."""

    name: str
    versioning: str

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


@dataclass(frozen=True)
class UserState:
    """A MinIO user (its access key is the name) with its status and attached policies."""

    name: str
    status: str
    policies: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _error_code(body: str) -> tuple[str, str]:
    """(Code, Message) of a MinIO error body (JSON for the admin API), or ('', body)."""
    try:
        payload = json.loads(body)
    except ValueError:
        return "", body.strip()
    if not isinstance(payload, dict):
        return "", body.strip()
    return str(payload.get("Code", "")), str(payload.get("Message", ""))


class MinioClient:
    """One MinIO endpoint (``https://host:9000``) seen with one pair of credentials.

    ``close()`` releases the connection pool; the module base calls it when the task ends.
    """

    def __init__(
        self,
        endpoint: str,
        access_key: str | None,
        secret_key: str | None,
        region: str = "us-east-1",
        ca_path: str | None = None,
        validate_certs: bool = True,
        timeout: float = 10.0,
        session_token: str | None = None,
    ) -> None:
        if MINIO_IMPORT_ERROR is not None:
            raise MinioError("the MinIO Python SDK (minio) is not installed", exception=MINIO_IMPORT_ERROR)
        url = urlsplit(endpoint)
        if url.scheme not in ("http", "https") or not url.hostname or url.path not in ("", "/"):
            raise MinioError(
                f"endpoint_url '{endpoint}' must be a URL of MinIO's S3 API such as https://minio.example:9000 "
                "(scheme, host and port, no path)",
                **error_details(endpoint),
            )
        if not access_key or not secret_key:
            raise MinioAuthError(
                "access_key and secret_key are required: pass them, or set MINIO_ROOT_USER and "
                "MINIO_ROOT_PASSWORD (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY) in the environment of the task",
                **error_details(endpoint),
            )
        problem = ca_path_problem(ca_path)
        if problem:
            raise MinioError(problem, **error_details(endpoint))
        self.endpoint = endpoint.rstrip("/")
        self.access_key = access_key
        self._secret_key = secret_key
        self.region = region
        self._secure = url.scheme == "https"
        self._netloc = url.netloc
        self._ca_path = ca_path
        self._validate_certs = validate_certs
        self._http = urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=timeout, read=timeout),
            cert_reqs="CERT_REQUIRED" if validate_certs else "CERT_NONE",
            # None: the system trust store (not certifi's, which the SDK would pick).
            ca_certs=ca_path,
            # No retry on connection or TLS errors: they do not heal in seconds and the
            # message must come fast. A 503 (server still starting) is retried briefly.
            retries=urllib3.Retry(
                total=4,
                connect=0,
                read=0,
                status=4,
                backoff_factor=0.5,
                status_forcelist=(503,),
                allowed_methods=None,
                raise_on_status=False,
            ),
        )
        try:
            self.s3 = Minio(
                self._netloc,
                access_key=access_key,
                secret_key=secret_key,
                session_token=session_token,
                secure=self._secure,
                region=region,
                http_client=self._http,
                cert_check=validate_certs,
            )
            self.admin = self._admin(access_key, secret_key, session_token)
        except ValueError as exc:
            # The SDK checks the host, port and region itself.
            raise MinioError(
                f"cannot use endpoint_url '{endpoint}' with region '{region}': {exc}", **error_details(self.endpoint)
            ) from exc

    def close(self) -> None:
        """Close the pool's connections."""
        self._http.clear()

    def _admin(self, access_key: str, secret_key: str, session_token: str | None = None) -> MinioAdmin:
        return MinioAdmin(
            endpoint=self._netloc,
            credentials=StaticProvider(access_key, secret_key, session_token),
            region=self.region,
            secure=self._secure,
            cert_check=self._validate_certs,
            http_client=self._http,
        )

    # -- error translation ---------------------------------------------------------------

    @contextmanager
    def _call(self, action: str, access_key: str | None = None, bucket: str | None = None) -> Iterator[None]:
        """Run SDK calls for ``action`` (on ``bucket``); turn every failure into a MinioError that says what to do."""
        who = access_key or self.access_key
        try:
            yield
        except S3Error as exc:
            raise self._api_error(action, who, bucket, exc.code or "", exc.message or str(exc)) from exc
        except MinioAdminException as exc:
            # The SDK keeps the HTTP status and the JSON error body only as private attributes.
            code, message = _error_code(str(getattr(exc, "_body", "")))
            status = str(getattr(exc, "_code", ""))
            raise self._api_error(action, who, bucket, code, message, status) from exc
        except urllib3.exceptions.MaxRetryError as exc:
            raise self._transport_error(action, bucket, exc.reason or exc) from exc
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise self._transport_error(action, bucket, exc) from exc

    def _api_error(
        self, action: str, who: str, bucket: str | None, code: str, message: str, status: str = ""
    ) -> MinioError:
        details = error_details(self.endpoint, bucket, code or status)
        if code in _CREDENTIAL_CODES:
            return MinioAuthError(
                f"MinIO at {self.endpoint} refused the credentials of '{who}' while trying to {action} "
                f"({code}: {message}). Check access_key and secret_key (for the minio role: "
                "minio_root_user and the root password kept on the MinIO host).",
                **details,
            )
        if code in _DENIED_CODES or status == "403":
            return MinioAuthError(
                f"MinIO at {self.endpoint} did not allow '{who}' to {action} ({code or status}: {message}). "
                "Use the root credentials, or a user whose policy allows this action.",
                **details,
            )
        return MinioError(f"MinIO at {self.endpoint} could not {action}: {code or status}: {message}", **details)

    def _transport_error(self, action: str, bucket: str | None, reason: Any) -> MinioUnreachable:
        text = str(reason)
        details = error_details(self.endpoint, bucket)
        if isinstance(reason, urllib3.exceptions.SSLError) or "SSL" in text or "certificate" in text:
            if "WRONG_VERSION_NUMBER" in text or "wrong version number" in text:
                fix = "the server does not speak TLS on this port: check the scheme (https/http) and the port"
            elif "CERTIFICATE_VERIFY_FAILED" in text or "certificate verify failed" in text:
                fix = (
                    "set ca_path to the PEM of the CA that signed MinIO's certificate (the minio role fetches "
                    "it to minio_ca_fetch_path), and use a host name or address that is in the certificate's "
                    "subject alternative names"
                )
            else:
                fix = "check ca_path and the server's certificate"
            return MinioUnreachable(
                f"TLS with MinIO at {self.endpoint} failed while trying to {action}: {text}. Fix: {fix}.", **details
            )
        return MinioUnreachable(
            f"MinIO at {self.endpoint} did not answer while trying to {action}: {text}. Check the endpoint's "
            "host and port (the S3 API port, 9000 by default), that the server runs (systemctl status minio), "
            "and that no firewall is in between.",
            **details,
        )

    # -- credentials ---------------------------------------------------------------------

    def whoami(self) -> str:
        """The account name of these credentials; fails with a clear message if MinIO refuses them."""
        with self._call("authenticate"):
            info = json.loads(self.admin.account_info())
        return str(info.get("AccountName", self.access_key))

    def credentials_valid(self, access_key: str, secret_key: str) -> bool:
        """Whether MinIO accepts this access key with this secret key (an enabled user, right secret)."""
        probe = self._admin(access_key, secret_key)
        try:
            with self._call("check the credentials of a user", access_key):
                probe.account_info()
        except MinioAuthError as exc:
            # Any other refusal (AccessDenied) came after authentication: the secret matched.
            return exc.details.get("code") not in _CREDENTIAL_CODES
        return True

    # -- buckets -------------------------------------------------------------------------

    def bucket(self, name: str) -> BucketState | None:
        """The bucket's state, or None when it does not exist."""
        with self._call(f"look up bucket '{name}'", bucket=name):
            if not self.s3.bucket_exists(name):
                return None
            status = self.s3.get_bucket_versioning(name).status
        return BucketState(name=name, versioning=status if status in ("Enabled", "Suspended") else "Off")

    def create_bucket(self, name: str) -> None:
        with self._call(f"create bucket '{name}'", bucket=name):
            self.s3.make_bucket(name, location=self.region)

    def remove_bucket(self, name: str) -> None:
        try:
            with self._call(f"remove bucket '{name}'", bucket=name):
                self.s3.remove_bucket(name)
        except MinioError as exc:
            if exc.details.get("code") == "BucketNotEmpty":
                raise MinioError(
                    f"bucket '{name}' on MinIO at {self.endpoint} is not empty: remove its objects (and their "
                    "versions) first; the module never deletes data",
                    **exc.details,
                ) from exc
            raise

    def set_versioning(self, name: str, enabled: bool) -> None:
        with self._call(f"set versioning of bucket '{name}'", bucket=name):
            self.s3.set_bucket_versioning(name, VersioningConfig(ENABLED if enabled else SUSPENDED))

    # -- policies ------------------------------------------------------------------------

    def policy(self, name: str) -> dict[str, Any] | None:
        """The canned policy's document in canonical form, or None when there is no such policy."""
        try:
            with self._call(f"read policy '{name}'"):
                raw = self.admin.policy_info(name)
        except MinioError as exc:
            if exc.details.get("code") == "XMinioAdminNoSuchPolicy":
                return None
            raise
        payload = json.loads(raw)
        # Newer servers may wrap the document: {"PolicyName": ..., "Policy": {...}}.
        if isinstance(payload, dict) and isinstance(payload.get("Policy"), dict):
            payload = payload["Policy"]
        return normalize_policy(payload)

    def put_policy(self, name: str, document: dict[str, Any]) -> None:
        with self._call(f"write policy '{name}'"):
            self.admin.policy_add(name, policy=document)

    def remove_policy(self, name: str) -> None:
        with self._call(f"remove policy '{name}'"):
            self.admin.policy_remove(name)

    # -- users ---------------------------------------------------------------------------

    def user(self, name: str) -> UserState | None:
        """The user's status and policies, or None when there is no such user."""
        try:
            with self._call(f"look up user '{name}'"):
                info = json.loads(self.admin.user_info(name))
        except MinioError as exc:
            if exc.details.get("code") == "XMinioAdminNoSuchUser":
                return None
            raise
        policies = sorted(p for p in str(info.get("policyName") or "").split(",") if p)
        return UserState(name=name, status=str(info.get("status", "")), policies=policies)

    def put_user(self, name: str, secret_key: str) -> None:
        """Create the user, or set its secret key; either way it ends enabled."""
        with self._call(f"create or update user '{name}'"):
            self.admin.user_add(name, secret_key)

    def enable_user(self, name: str) -> None:
        with self._call(f"enable user '{name}'"):
            self.admin.user_enable(name)

    def remove_user(self, name: str) -> None:
        with self._call(f"remove user '{name}'"):
            self.admin.user_remove(name)

    def attach_policies(self, name: str, policies: list[str]) -> None:
        with self._call(f"attach policies {', '.join(policies)} to user '{name}'"):
            self.admin.attach_policy(policies, user=name)

    def detach_policies(self, name: str, policies: list[str]) -> None:
        with self._call(f"detach policies {', '.join(policies)} from user '{name}'"):
            self.admin.detach_policy(policies, user=name)


def client_from_params(params: dict[str, Any]) -> MinioClient:
    """A client from a module's parameters (the s3_connection options); ``whoami()`` checks its credentials."""
    return MinioClient(
        params["endpoint_url"],
        params["access_key"],
        params["secret_key"],
        region=params["region"],
        ca_path=params["ca_path"],
        validate_certs=params["validate_certs"],
        timeout=params["timeout"],
        session_token=params["session_token"],
    )


def state_dict(state: BucketState | UserState | None) -> dict[str, Any]:
    """A state as a module reports it in its diff: {} for none."""
    return state.as_dict() if state else {}
