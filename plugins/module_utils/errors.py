# Copyright: edgeai.inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One exception hierarchy for every client of the collection.

Modules catch :class:`EdgeAIError` once in ``main()`` and hand ``str(exc)`` and
``exc.details`` to ``fail_json``: the message names the cause and the fix.
"""

from __future__ import annotations

from typing import Any


class EdgeAIError(Exception):
    """Base of every error a collection client raises."""

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.details = details


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
