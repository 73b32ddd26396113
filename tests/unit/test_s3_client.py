"""The collection's S3 client: Signature V4 against AWS's published example, error documents."""

from __future__ import annotations

import pytest

from ansible_collections.edgeai.inference.plugins.module_utils.errors import StoreError
from ansible_collections.edgeai.inference.plugins.module_utils.model_repository.s3_client import (
    EMPTY_SHA256,
    Response,
    S3Client,
)

# AWS's example credentials and request from the S3 Signature V4 documentation ("GET Object")
ACCESS_KEY = "AKIAIOSFODNN7EXAMPLE"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def test_signature_matches_aws_documented_example():
    client = S3Client("https://examplebucket.s3.amazonaws.com", "us-east-1", ACCESS_KEY, SECRET_KEY)
    headers = {"range": "bytes=0-9"}
    client.sign("GET", "/test.txt", "", headers, EMPTY_SHA256, stamp="20130524T000000Z")
    assert headers["Authorization"] == (
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
        "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
        "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
    )


def test_session_token_is_signed():
    client = S3Client("http://127.0.0.1:9000", "us-east-1", ACCESS_KEY, SECRET_KEY, session_token="tok")
    headers: dict[str, str] = {}
    client.sign("GET", "/b", "", headers, EMPTY_SHA256, stamp="20130524T000000Z")
    assert headers["x-amz-security-token"] == "tok"
    assert "x-amz-security-token" in headers["Authorization"].split("SignedHeaders=")[1]


def test_error_document_is_parsed():
    body = b'<?xml version="1.0"?><Error><Code>NoSuchBucket</Code><Message>gone</Message></Error>'
    assert Response(404, {}, body).error() == ("NoSuchBucket", "gone")
    assert Response(200, {}, b"<ListBucketResult/>").error() == ("", "")
    assert Response(502, {}, b"<html>bad gateway").error() == ("", "")


def test_endpoint_must_be_an_http_url():
    with pytest.raises(StoreError, match="is not an http"):
        S3Client("minio.example:9000", "us-east-1", ACCESS_KEY, SECRET_KEY)
