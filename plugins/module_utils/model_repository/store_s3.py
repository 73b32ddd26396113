# Copyright: edgeai.inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""An S3-compatible destination (MinIO, AWS S3) through boto3.

One ListObjectsV2 walk per prefix; no per-object HEAD. Each upload carries the
content's checksum, which the server checks against the bytes it receives, so
the payload need not be hashed a second time for the signature, even over
plain HTTP: ``x-amz-checksum-sha256`` for single-part objects (the sha256 the
manifest records, also kept as user metadata ``sha256``), and a CRC32 per part
for multipart ones (the whole-file sha256 is built while the parts are read;
a second sha256 pass per part would cost the client and the server a full
hash of the file each).
Files above the multipart size go up in parts, read in order (the whole-file
hash is built on the way) and sent in parallel, with at most ``workers`` parts
in memory at once.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import threading
import zlib
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from ansible_collections.edgeai.inference.plugins.module_utils.errors import StoreError, StoreUnreachable
from ansible_collections.edgeai.inference.plugins.module_utils.model_repository.layout import LocalFile
from ansible_collections.edgeai.inference.plugins.module_utils.model_repository.plan import MANIFEST_NAME, RemoteObject

try:
    import boto3
    import botocore.config
    import botocore.exceptions

    HAS_BOTO3 = True
    BOTO3_IMPORT_ERROR = None
except ImportError as _exc:  # pragma: no cover - reported by the module through missing_required_lib
    HAS_BOTO3 = False
    BOTO3_IMPORT_ERROR = _exc

MIB = 1024 * 1024
CREDENTIAL_CODES = {"InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken", "ExpiredToken"}


def _b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode()


class S3Store:
    """A bucket and prefix on an S3-compatible endpoint."""

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        endpoint_url: str | None = None,
        region: str = "us-east-1",
        access_key: str | None = None,
        secret_key: str | None = None,
        session_token: str | None = None,
        ca_path: str | None = None,
        validate_certs: bool = True,
        workers: int = 8,
        part_size_mib: int = 16,
        retries: int = 5,
        timeout: float = 60,
    ) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.endpoint_url = endpoint_url
        self.part_size = max(5, part_size_mib) * MIB  # S3's smallest part is 5 MiB
        self.description = f"s3://{bucket}/{self.prefix}" + (f" at {endpoint_url}" if endpoint_url else "")
        config = botocore.config.Config(
            retries={"mode": "standard", "max_attempts": retries + 1},
            max_pool_connections=max(workers * 2, 10),
            connect_timeout=timeout,
            read_timeout=timeout,
            # checksums are given explicitly (sha256); none computed behind our back
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
            # the x-amz-checksum-sha256 header protects the payload; do not hash it again
            s3={"payload_signing_enabled": False, "addressing_style": "path"},
        )
        session = boto3.session.Session(
            aws_access_key_id=access_key,
            aws_secret_access_key=secret_key,
            aws_session_token=session_token,
            region_name=region,
        )
        verify: bool | str = (ca_path or True) if validate_certs else False
        self.client = session.client("s3", endpoint_url=endpoint_url, verify=verify, config=config)
        self._parts = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="s3-part")
        self._in_flight = threading.BoundedSemaphore(workers)

    def close(self) -> None:
        self._parts.shutdown(wait=True)

    # -- errors ---------------------------------------------------------------------------------------

    def translate(self, exc: Exception, action: str) -> StoreError:
        """A botocore error as one of ours, naming the cause and the fix."""
        where = self.endpoint_url or "the default AWS endpoint"
        if isinstance(exc, botocore.exceptions.SSLError):
            return StoreUnreachable(
                f"{action}: TLS verification of {where} failed ({exc}): set ca_path to the CA bundle that "
                "signed the server's certificate",
                cause="tls",
            )
        if isinstance(exc, (botocore.exceptions.EndpointConnectionError, botocore.exceptions.ConnectionClosedError)):
            return StoreUnreachable(
                f"{action}: cannot reach {where} ({exc}): check endpoint_url and that the server is running",
                cause="unreachable",
            )
        if isinstance(exc, (botocore.exceptions.ReadTimeoutError, botocore.exceptions.ConnectTimeoutError)):
            return StoreUnreachable(f"{action}: {where} did not answer in time ({exc})", cause="timeout")
        if isinstance(exc, botocore.exceptions.NoCredentialsError):
            return StoreError(
                f"{action}: no S3 credentials: set access_key and secret_key, or AWS_ACCESS_KEY_ID and "
                "AWS_SECRET_ACCESS_KEY in the environment",
                cause="credentials",
            )
        if isinstance(exc, botocore.exceptions.ClientError):
            error = exc.response.get("Error", {})
            code = error.get("Code", "")
            message = error.get("Message", "")
            if code in CREDENTIAL_CODES:
                return StoreError(
                    f"{action}: {where} rejected the credentials ({code}: {message}): check access_key and secret_key",
                    cause="credentials",
                )
            if code == "NoSuchBucket":
                return StoreError(
                    f"{action}: bucket '{self.bucket}' does not exist at {where}: create it first "
                    "(the minio role creates it) or fix the bucket name",
                    cause="no_bucket",
                )
            if code == "AccessDenied":
                return StoreError(
                    f"{action}: access denied on s3://{self.bucket}/{self.prefix} at {where}: the user needs "
                    "s3:ListBucket, s3:GetObject, s3:PutObject and (with delete) s3:DeleteObject",
                    cause="access_denied",
                )
            return StoreError(f"{action}: {where} answered {code}: {message}", cause=code or "error")
        if isinstance(exc, botocore.exceptions.BotoCoreError):
            return StoreError(f"{action}: {exc}", cause="error")
        return StoreError(f"{action}: {exc!r}", cause="error")

    def _call(self, action: str, method: Any, **kwargs: Any) -> Any:
        try:
            return method(**kwargs)
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
            raise self.translate(exc, action) from None

    # -- reading ---------------------------------------------------------------------------------------

    def list(self) -> tuple[dict[str, RemoteObject], bool]:
        """Every object under the prefix (stamp = ETag), and whether the manifest exists."""
        objects: dict[str, RemoteObject] = {}
        has_manifest = False
        kwargs: dict[str, Any] = {"Bucket": self.bucket, "Prefix": self.prefix}
        while True:
            page = self._call(f"list {self.description}", self.client.list_objects_v2, **kwargs)
            for item in page.get("Contents", []):
                rel = item["Key"][len(self.prefix) :]
                if rel == MANIFEST_NAME:
                    has_manifest = True
                elif rel and not rel.endswith("/"):
                    objects[rel] = RemoteObject(int(item["Size"]), item["ETag"].strip('"'))
            if not page.get("IsTruncated"):
                return objects, has_manifest
            kwargs["ContinuationToken"] = page["NextContinuationToken"]

    def read_manifest(self) -> bytes:
        answer = self._call(
            "read the manifest", self.client.get_object, Bucket=self.bucket, Key=self.prefix + MANIFEST_NAME
        )
        return answer["Body"].read()

    # -- writing ---------------------------------------------------------------------------------------

    def write_manifest(self, data: bytes) -> None:
        self._put_bytes(MANIFEST_NAME, data, hashlib.sha256(data).digest(), "application/json")

    def _put_bytes(self, rel: str, data: bytes, digest: bytes, content_type: str = "application/octet-stream") -> str:
        answer = self._call(
            f"upload {rel}",
            self.client.put_object,
            Bucket=self.bucket,
            Key=self.prefix + rel,
            Body=data,
            ContentType=content_type,
            ChecksumSHA256=_b64(digest),
            Metadata={"sha256": digest.hex()},
        )
        return answer["ETag"].strip('"')

    def put(self, local: LocalFile) -> tuple[str, str, int]:
        """Upload one file; return (sha256 hex, stamp, bytes sent)."""
        if local.size <= self.part_size:
            with open(local.path, "rb") as handle:
                data = handle.read()
            digest = hashlib.sha256(data).digest()
            return digest.hex(), self._put_bytes(local.relpath, data, digest), len(data)
        return self._put_multipart(local)

    def _put_multipart(self, local: LocalFile) -> tuple[str, str, int]:
        key = self.prefix + local.relpath
        action = f"upload {local.relpath}"
        upload_id = self._call(
            action,
            self.client.create_multipart_upload,
            Bucket=self.bucket,
            Key=key,
            ChecksumAlgorithm="CRC32",
            ContentType="application/octet-stream",
        )["UploadId"]
        whole = hashlib.sha256()
        futures: list[Future] = []
        sent = 0
        try:
            with open(local.path, "rb") as handle:
                number = 0
                while True:
                    # at most `workers` parts are read and not yet sent, across all files
                    self._in_flight.acquire()  # pylint: disable=consider-using-with
                    chunk = handle.read(self.part_size)
                    if not chunk:
                        self._in_flight.release()
                        break
                    number += 1
                    whole.update(chunk)
                    sent += len(chunk)
                    futures.append(self._parts.submit(self._put_part, key, upload_id, number, chunk, action))
            parts = [future.result() for future in futures]
            # the whole-file sha256 is known only now, so for multipart objects it lives in the manifest
            answer = self._call(
                action,
                self.client.complete_multipart_upload,
                Bucket=self.bucket,
                Key=key,
                UploadId=upload_id,
                MultipartUpload={"Parts": parts},
            )
        except BaseException:
            for future in futures:
                future.cancel()
            # best effort: the object never became visible, and servers expire incomplete uploads
            with contextlib.suppress(botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError):
                self.client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)
            raise
        return whole.hexdigest(), answer["ETag"].strip('"'), sent

    def _put_part(self, key: str, upload_id: str, number: int, chunk: bytes, action: str) -> dict[str, Any]:
        try:
            checksum = _b64(zlib.crc32(chunk).to_bytes(4, "big"))
            answer = self._call(
                action,
                self.client.upload_part,
                Bucket=self.bucket,
                Key=key,
                UploadId=upload_id,
                PartNumber=number,
                Body=chunk,
                ChecksumCRC32=checksum,
            )
            return {"PartNumber": number, "ETag": answer["ETag"], "ChecksumCRC32": checksum}
        finally:
            self._in_flight.release()

    def delete(self, rel: str) -> None:
        self._call(f"delete {rel}", self.client.delete_object, Bucket=self.bucket, Key=self.prefix + rel)
