# Copyright: edgeai.inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""An S3-compatible destination (MinIO, AWS S3), over the collection's own S3 client.

One ListObjectsV2 walk per prefix; no per-object HEAD. Each upload carries the
content's checksum, which the server checks against the bytes it receives, so
the payload need not be hashed a second time for the signature, even over
plain HTTP: ``x-amz-checksum-sha256`` for single-part objects (the sha256 the
manifest records, also kept as user metadata ``sha256``), and a CRC32 per part
for multipart ones (the whole-file sha256 is built while the parts are read;
a second sha256 pass per part would cost the client and the server a full
hash of the file each). Files above the part size go up in parts, read in
order and sent in parallel, with at most ``workers`` parts in memory at once.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import threading
import zlib
from concurrent.futures import Future, ThreadPoolExecutor

from ansible_collections.edgeai.inference.plugins.module_utils.errors import StoreError
from ansible_collections.edgeai.inference.plugins.module_utils.model_repository.layout import LocalFile
from ansible_collections.edgeai.inference.plugins.module_utils.model_repository.plan import RemoteObject, is_manifest
from ansible_collections.edgeai.inference.plugins.module_utils.model_repository.s3_client import S3Client

MIB = 1024 * 1024


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
        self.part_size = max(5, part_size_mib) * MIB  # S3's smallest part is 5 MiB
        self.client = S3Client(
            endpoint_url,
            region,
            access_key,
            secret_key,
            session_token=session_token,
            ca_path=ca_path,
            validate_certs=validate_certs,
            timeout=timeout,
            retries=retries,
        )
        self.description = f"s3://{bucket}/{self.prefix} at {self.client.endpoint_url}"
        self._parts = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="s3-part")
        self._in_flight = threading.BoundedSemaphore(workers)

    def close(self) -> None:
        self._parts.shutdown(wait=True)
        self.client.close()

    def list(self) -> tuple[dict[str, RemoteObject], list[str]]:
        """Every object under the prefix (stamp = ETag), and the manifest files among them."""
        objects: dict[str, RemoteObject] = {}
        manifests: list[str] = []
        for key, size, etag in self.client.list_objects(self.bucket, self.prefix):
            rel = key[len(self.prefix) :]
            if is_manifest(rel):
                manifests.append(rel)
            elif rel and not rel.endswith("/"):
                objects[rel] = RemoteObject(size, etag)
        return objects, sorted(manifests)

    def read_manifest(self, rel: str) -> bytes:
        return self.client.get_object(self.bucket, self.prefix + rel)

    def write_manifest(self, rel: str, data: bytes) -> None:
        self._put_bytes(rel, data, hashlib.sha256(data).digest(), "application/json")

    def _put_bytes(self, rel: str, data: bytes, digest: bytes, content_type: str = "application/octet-stream") -> str:
        headers = {
            "content-type": content_type,
            "x-amz-checksum-sha256": _b64(digest),
            "x-amz-meta-sha256": digest.hex(),
        }
        return self.client.put_object(self.bucket, self.prefix + rel, data, headers, f"upload {rel}")

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
        headers = {"content-type": "application/octet-stream", "x-amz-checksum-algorithm": "CRC32"}
        upload_id = self.client.create_multipart_upload(self.bucket, key, headers, action)
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
            etag = self.client.complete_multipart_upload(self.bucket, key, upload_id, parts, action)
        except BaseException:
            for future in futures:
                future.cancel()
            # best effort: the object never became visible, and servers expire incomplete uploads
            with contextlib.suppress(StoreError):
                self.client.abort_multipart_upload(self.bucket, key, upload_id)
            raise
        return whole.hexdigest(), etag, sent

    def _put_part(self, key: str, upload_id: str, number: int, chunk: bytes, action: str) -> dict[str, object]:
        try:
            checksum = _b64(zlib.crc32(chunk).to_bytes(4, "big"))
            etag = self.client.upload_part(
                self.bucket, key, upload_id, number, chunk, {"x-amz-checksum-crc32": checksum}, action
            )
            return {"number": number, "etag": etag, "crc32": checksum}
        finally:
            self._in_flight.release()

    def delete(self, rel: str) -> None:
        self.client.delete_object(self.bucket, self.prefix + rel)
