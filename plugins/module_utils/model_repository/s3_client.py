# Copyright: edgeai.inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A small S3 client on the standard library: AWS Signature V4, path-style, keep-alive.

Only what publishing a model repository needs (list, get, put, multipart, delete),
so the module runs on any host with Python, without boto3. Per request it costs
a fraction of boto3's CPU, which matters for repositories of many small files.
Every payload goes with ``UNSIGNED-PAYLOAD`` in the signature and an
``x-amz-checksum-*`` header the server verifies, so a body is never hashed twice.

Each thread keeps its own connection; ``close()`` closes them all. Connection
errors, timeouts, 5xx and throttling answers are retried with exponential backoff
and jitter. Errors carry the collection's S3 detail keys (endpoint, bucket, code).
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import random
import socket
import ssl
import threading
import time
import urllib.parse
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Any

from ansible_collections.edgeai.inference.plugins.module_utils.errors import StoreError, StoreUnreachable
from ansible_collections.edgeai.inference.plugins.module_utils.s3_connection import ca_path_problem, error_details

UNSIGNED = "UNSIGNED-PAYLOAD"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
RETRY_STATUS = {500, 502, 503, 504, 429}
RETRY_CODES = {"SlowDown", "RequestTimeout", "InternalError", "ServiceUnavailable", "XMinioServerNotInitialized"}
CREDENTIAL_CODES = {"InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken", "ExpiredToken"}


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _find(element: ET.Element, name: str) -> str:
    for child in element:
        if _local(child.tag) == name:
            return child.text or ""
    return ""


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    def error(self) -> tuple[str, str]:
        """(Code, Message) of an S3 error document; empty strings when there is none."""
        try:
            root = ET.fromstring(self.body)
        except ET.ParseError:
            return "", ""
        if _local(root.tag) != "Error":
            return "", ""
        return _find(root, "Code"), _find(root, "Message")


class S3Client:
    """Signed requests to one S3-compatible endpoint."""

    def __init__(
        self,
        endpoint_url: str | None,
        region: str,
        access_key: str | None,
        secret_key: str | None,
        session_token: str | None = None,
        ca_path: str | None = None,
        validate_certs: bool = True,
        timeout: float = 60,
        retries: int = 5,
    ) -> None:
        self.endpoint_url = (endpoint_url or f"https://s3.{region}.amazonaws.com").rstrip("/")
        parts = urllib.parse.urlsplit(self.endpoint_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise StoreError(
                f"endpoint_url '{endpoint_url}' is not an http(s) URL: give it as https://host:port",
                **error_details(self.endpoint_url),
            )
        if not access_key or not secret_key:
            raise StoreError(
                "no S3 credentials: set access_key and secret_key, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY "
                "in the module's environment",
                **error_details(self.endpoint_url),
            )
        problem = ca_path_problem(ca_path)
        if problem:
            raise StoreError(problem, **error_details(self.endpoint_url))
        self.https = parts.scheme == "https"
        self.host = parts.netloc
        self.base_path = parts.path.rstrip("/")
        self.region = region
        self.access_key = access_key
        self.secret_key = secret_key
        self.session_token = session_token
        self.timeout = timeout
        self.retries = retries
        self._tls: ssl.SSLContext | None = None
        if self.https:
            self._tls = ssl.create_default_context(cafile=ca_path) if ca_path else ssl.create_default_context()
            if not validate_certs:
                self._tls.check_hostname = False
                self._tls.verify_mode = ssl.CERT_NONE
        self._local = threading.local()
        # every thread's connection, for close()
        self._connections: list[http.client.HTTPConnection] = []
        self._connections_lock = threading.Lock()
        self._signing_keys: dict[str, bytes] = {}

    # -- signing -----------------------------------------------------------------------------------------

    def _signing_key(self, date: str) -> bytes:
        key = self._signing_keys.get(date)
        if key is None:
            key = hmac.new(("AWS4" + self.secret_key).encode(), date.encode(), hashlib.sha256).digest()
            for part in (self.region, "s3", "aws4_request"):
                key = hmac.new(key, part.encode(), hashlib.sha256).digest()
            self._signing_keys[date] = key
        return key

    def sign(
        self,
        method: str,
        path: str,
        canonical_query: str,
        headers: dict[str, str],
        payload_hash: str,
        stamp: str | None = None,
    ) -> None:
        """Add host, date, payload hash and the Signature V4 Authorization header to headers."""
        stamp = stamp or time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        date = stamp[:8]
        headers["host"] = self.host
        headers["x-amz-date"] = stamp
        headers["x-amz-content-sha256"] = payload_hash
        if self.session_token:
            headers["x-amz-security-token"] = self.session_token
        names = sorted(headers)
        canonical = "\n".join(
            [
                method,
                path,
                canonical_query,
                "".join(f"{name}:{str(headers[name]).strip()}\n" for name in names),
                ";".join(names),
                payload_hash,
            ]
        )
        scope = f"{date}/{self.region}/s3/aws4_request"
        to_sign = "\n".join(["AWS4-HMAC-SHA256", stamp, scope, hashlib.sha256(canonical.encode()).hexdigest()])
        signature = hmac.new(self._signing_key(date), to_sign.encode(), hashlib.sha256).hexdigest()
        headers["Authorization"] = (
            f"AWS4-HMAC-SHA256 Credential={self.access_key}/{scope}, SignedHeaders={';'.join(names)}, "
            f"Signature={signature}"
        )

    # -- transport ---------------------------------------------------------------------------------------

    def _connection(self, fresh: bool = False) -> http.client.HTTPConnection:
        conn = getattr(self._local, "conn", None)
        if conn is not None and fresh:
            conn.close()
            with self._connections_lock:
                if conn in self._connections:
                    self._connections.remove(conn)
            conn = None
        if conn is None:
            if self.https:
                conn = http.client.HTTPSConnection(self.host, timeout=self.timeout, context=self._tls)
            else:
                conn = http.client.HTTPConnection(self.host, timeout=self.timeout)
            self._local.conn = conn
            with self._connections_lock:
                self._connections.append(conn)
        return conn

    def close(self) -> None:
        """Close the connection of every thread that sent a request."""
        with self._connections_lock:
            connections, self._connections = self._connections, []
        for conn in connections:
            conn.close()

    def request(
        self,
        action: str,
        method: str,
        bucket: str,
        key: str = "",
        query: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        body: bytes = b"",
        payload_hash: str | None = None,
        expect: tuple[int, ...] = (200,),
    ) -> Response:
        """One signed request, retried on transient failures; an S3 error becomes a StoreError."""
        query = query or {}
        path = (
            self.base_path
            + "/"
            + urllib.parse.quote(bucket, safe="")
            + ("/" + urllib.parse.quote(key, safe="/~") if key else "")
        )
        if payload_hash is None:
            payload_hash = hashlib.sha256(body).hexdigest() if body else EMPTY_SHA256
        # the query as signed is the query as sent: sorted, every reserved character encoded
        canonical_query = "&".join(
            f"{urllib.parse.quote(k, safe='-_.~')}={urllib.parse.quote(v, safe='-_.~')}"
            for k, v in sorted(query.items())
        )
        target = path + ("?" + canonical_query if canonical_query else "")
        attempt = 0
        while True:
            send_headers = dict(headers or {})
            self.sign(method, path, canonical_query, send_headers, payload_hash)
            send_headers["Content-Length"] = str(len(body))
            try:
                conn = self._connection(fresh=attempt > 0)
                conn.request(method, target, body=body or None, headers=send_headers)
                answer = conn.getresponse()
                response = Response(answer.status, {k.lower(): v for k, v in answer.getheaders()}, answer.read())
            except ssl.SSLCertVerificationError as exc:
                raise StoreUnreachable(
                    f"{action}: TLS verification of {self.endpoint_url} failed ({exc.verify_message}): set ca_path "
                    "to the CA bundle that signed the server's certificate",
                    **error_details(self.endpoint_url, bucket),
                ) from None
            except (OSError, http.client.HTTPException) as exc:
                self._connection(fresh=True)
                if attempt < self.retries:
                    attempt += 1
                    self._backoff(attempt)
                    continue
                reason = f"no answer within {self.timeout}s" if isinstance(exc, socket.timeout) else str(exc)
                raise StoreUnreachable(
                    f"{action}: cannot reach {self.endpoint_url} ({reason}) after {attempt + 1} attempt(s): check "
                    "endpoint_url and that the server is running",
                    **error_details(self.endpoint_url, bucket),
                ) from None
            code, message = response.error() if response.status >= 300 or method == "POST" else ("", "")
            if response.status in expect and not code:
                return response
            if (response.status in RETRY_STATUS or code in RETRY_CODES) and attempt < self.retries:
                attempt += 1
                self._backoff(attempt)
                continue
            raise self._error(action, bucket, response.status, code, message)

    @staticmethod
    def _backoff(attempt: int) -> None:
        time.sleep(random.uniform(0, min(5.0, 0.2 * 2**attempt)))

    def _error(self, action: str, bucket: str, status: int, code: str, message: str) -> StoreError:
        where = self.endpoint_url
        details = error_details(where, bucket, code or str(status))
        if code in CREDENTIAL_CODES or (status == 403 and not code):
            return StoreError(
                f"{action}: {where} rejected the credentials ({code or status}: {message}): check access_key and "
                "secret_key",
                **details,
            )
        if code == "NoSuchBucket":
            return StoreError(
                f"{action}: bucket '{bucket}' does not exist at {where}: create it first (the minio role creates "
                "it) or fix the bucket name",
                **details,
            )
        if code == "AccessDenied":
            return StoreError(
                f"{action}: access denied on bucket '{bucket}' at {where}: the user needs s3:ListBucket, "
                "s3:GetObject, s3:PutObject and (with delete) s3:DeleteObject",
                **details,
            )
        return StoreError(f"{action}: {where} answered {status} {code}: {message}".rstrip(": "), **details)

    # -- operations ------------------------------------------------------------------------------------------

    def list_objects(self, bucket: str, prefix: str) -> list[tuple[str, int, str]]:
        """(key, size, ETag) of every object under prefix, one ListObjectsV2 walk."""
        objects: list[tuple[str, int, str]] = []
        query = {"list-type": "2", "prefix": prefix, "max-keys": "1000"}
        while True:
            answer = self.request(f"list s3://{bucket}/{prefix}", "GET", bucket, query=query)
            root = ET.fromstring(answer.body)
            token = ""
            truncated = False
            for child in root:
                name = _local(child.tag)
                if name == "Contents":
                    objects.append(
                        (_find(child, "Key"), int(_find(child, "Size") or 0), _find(child, "ETag").strip('"'))
                    )
                elif name == "IsTruncated":
                    truncated = (child.text or "").strip() == "true"
                elif name == "NextContinuationToken":
                    token = child.text or ""
            if not truncated:
                return objects
            query = {**query, "continuation-token": token}

    def get_object(self, bucket: str, key: str) -> bytes:
        return self.request(f"read {key}", "GET", bucket, key).body

    def put_object(self, bucket: str, key: str, data: bytes, checksum_headers: dict[str, str], action: str) -> str:
        answer = self.request(action, "PUT", bucket, key, headers=checksum_headers, body=data, payload_hash=UNSIGNED)
        return answer.headers.get("etag", "").strip('"')

    def create_multipart_upload(self, bucket: str, key: str, headers: dict[str, str], action: str) -> str:
        answer = self.request(action, "POST", bucket, key, query={"uploads": ""}, headers=headers)
        return _find(ET.fromstring(answer.body), "UploadId")

    def upload_part(
        self,
        bucket: str,
        key: str,
        upload_id: str,
        number: int,
        data: bytes,
        checksum_headers: dict[str, str],
        action: str,
    ) -> str:
        answer = self.request(
            action,
            "PUT",
            bucket,
            key,
            query={"partNumber": str(number), "uploadId": upload_id},
            headers=checksum_headers,
            body=data,
            payload_hash=UNSIGNED,
        )
        return answer.headers.get("etag", "")

    def complete_multipart_upload(
        self, bucket: str, key: str, upload_id: str, parts: list[dict[str, Any]], action: str
    ) -> str:
        items = "".join(
            f"<Part><PartNumber>{p['number']}</PartNumber><ETag>{p['etag']}</ETag>"
            f"<ChecksumCRC32>{p['crc32']}</ChecksumCRC32></Part>"
            for p in parts
        )
        body = f'<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/">{items}</CompleteMultipartUpload>'
        answer = self.request(action, "POST", bucket, key, query={"uploadId": upload_id}, body=body.encode())
        return _find(ET.fromstring(answer.body), "ETag").strip('"')

    def abort_multipart_upload(self, bucket: str, key: str, upload_id: str) -> None:
        self.request(f"abort {key}", "DELETE", bucket, key, query={"uploadId": upload_id}, expect=(204, 200, 404))

    def delete_object(self, bucket: str, key: str) -> None:
        self.request(f"delete {key}", "DELETE", bucket, key, expect=(204, 200))
