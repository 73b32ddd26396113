"""The Triton client's https path against a real TLS server signed by the lab CA.

Triton's HTTP port has no TLS of its own (it is terminated in front of it, e.g.
by an ingress); the lab's TLS MinIO stands in as the HTTPS peer: what is under
test is certificate verification with and without the CA bundle.
"""

from __future__ import annotations

import pytest

from ansible_collections.edgeai.inference.plugins.module_utils.errors import TritonUnreachable
from ansible_collections.edgeai.inference.plugins.module_utils.triton.client import TritonClient

pytestmark = pytest.mark.lab


def test_https_with_the_lab_ca_connects(lab):
    client = TritonClient(lab["MINIO_TLS_ENDPOINT"], timeout=5, ca_path=lab["LAB_CA"])
    # The TLS handshake succeeds and an HTTP answer comes back (MinIO is no Triton: not live).
    assert client.live() is False


def test_https_without_the_ca_names_the_cause_and_the_fix(lab):
    client = TritonClient(lab["MINIO_TLS_ENDPOINT"], timeout=5)
    with pytest.raises(TritonUnreachable) as err:
        client.live()
    message = str(err.value)
    assert "certificate" in message.lower(), message
    assert "ca_path" in message, message
