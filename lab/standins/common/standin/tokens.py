"""K3s join tokens (pkg/clientaccess/token.go): ``K10<sha256 of the CA PEM>::<user>:<password>`` or
a bare password."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

BOOTSTRAP_TOKEN = re.compile(r"^[a-z0-9]{6}\.[a-z0-9]{16}$")


class TokenError(Exception):
    pass


@dataclass
class Token:
    ca_hash: str
    username: str
    password: str
    bootstrap: bool = False


def parse(token: str) -> Token:
    if not token:
        raise TokenError("token must not be empty")
    if not token.startswith("K10"):
        if BOOTSTRAP_TOKEN.match(token):
            return Token("", "", token, bootstrap=True)
        token = "K10:::" + token
    body = token[3:]
    ca_hash, sep, creds = body.partition("::")
    if not sep:
        raise TokenError("invalid token format")
    if ca_hash and len(ca_hash) != 64:
        raise TokenError("invalid token CA hash length")
    if BOOTSTRAP_TOKEN.match(creds):
        return Token(ca_hash, "", creds, bootstrap=True)
    user, sep, password = creds.partition(":")
    if not sep or not password:
        raise TokenError("invalid token format")
    return Token(ca_hash, user, password)


def ca_hash(pem: bytes) -> str:
    return hashlib.sha256(pem).hexdigest()


def full(pem: bytes, username: str, password: str) -> str:
    return f"K10{ca_hash(pem)}::{username}:{password}"
