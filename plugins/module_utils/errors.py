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
