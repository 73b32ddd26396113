# Copyright: edgeai.inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One exception hierarchy for every client of the collection.

The module base (``module_utils/base.py``) catches :class:`EdgeAIError` once and fails
with ``str(exc)`` as the message, which names the cause and the fix, ``exc.result``
merged into the documented result, and ``exc.details`` under the result's ``error`` key.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class EdgeAIError(Exception):
    """Base of every error a collection client raises.

    ``details`` say what went wrong (endpoint, bucket, code, ...); a module returns them
    under ``error``, never beside its documented results. ``result`` holds documented
    result keys the failure leaves behind, such as the statistics of the requests that
    ran or what a half-done publish did.
    """

    def __init__(self, message: str, *, result: Mapping[str, Any] | None = None, **details: Any) -> None:
        super().__init__(message)
        self.details = details
        self.result = dict(result or {})


class TritonError(EdgeAIError):
    """Triton answered, but not as expected (HTTP error, bad payload)."""


class TritonUnreachable(TritonError):
    """No answer from Triton: wrong URL, server down, TLS refused, timeout."""


class TritonNotReady(TritonError):
    """Triton or a required model is not ready; details carry the server's reasons."""


class ModelRepositoryError(EdgeAIError):
    """A model repository cannot be published."""


class InvalidModelRepository(ModelRepositoryError):
    """The local repository breaks Triton's layout rules; details list every problem."""


class StoreError(ModelRepositoryError):
    """The destination (S3 bucket or filesystem path) refused or failed an operation."""


class StoreUnreachable(StoreError):
    """No answer from the destination: wrong endpoint, server down, TLS refused."""


class PublishIncomplete(ModelRepositoryError):
    """Some files were published and some were not; details say which, a re-run completes."""


class MinioError(EdgeAIError):
    """MinIO answered, but not as expected (S3 or admin API error), or a request was invalid."""


class MinioUnreachable(MinioError):
    """No answer from MinIO: wrong endpoint, server down, TLS refused (unknown CA), timeout."""


class MinioAuthError(MinioError):
    """MinIO refused the credentials: unknown access key, wrong secret key, or not allowed."""


class DebError(EdgeAIError):
    """dpkg cannot answer: not a Debian host (no dpkg-query), or dpkg-query failed."""
