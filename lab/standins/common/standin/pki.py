"""Certificates with the node's openssl (no python cryptography on the nodes): ECDSA P-256 as K3s."""

from __future__ import annotations

import base64
import os
import secrets
import subprocess
import tempfile
import time
from pathlib import Path


def _openssl(*args: str, stdin: bytes | None = None) -> bytes:
    proc = subprocess.run(["openssl", *args], input=stdin, capture_output=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"openssl {args[0]} failed: {proc.stderr.decode(errors='replace').strip()}")
    return proc.stdout


def _write_private(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.replace(tmp, path)


def _write_public(path: Path, data: bytes, mode: int = 0o644) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    tmp.chmod(mode)
    os.replace(tmp, path)


def new_key() -> bytes:
    return _openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256")


def ensure_ca(crt: Path, key: Path, name: str) -> bool:
    """A self-signed CA named like K3s's (``k3s-server-ca@<unix time>``); True when created."""
    if crt.exists() and key.exists():
        return False
    key_pem = new_key()
    _write_private(key, key_pem)
    with tempfile.NamedTemporaryFile() as keyfile:
        keyfile.write(key_pem)
        keyfile.flush()
        pem = _openssl(
            "req",
            "-x509",
            "-new",
            "-key",
            keyfile.name,
            "-subj",
            f"/CN={name}@{int(time.time())}",
            "-days",
            "3650",
            "-sha256",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,digitalSignature,keyEncipherment,keyCertSign",
        )
    _write_public(crt, pem)
    return True


def _subject(cn: str, orgs: list[str]) -> str:
    return "".join(f"/O={o}" for o in orgs) + f"/CN={cn}"


def sign(
    ca_crt: Path,
    ca_key: Path,
    cn: str,
    orgs: list[str] | None = None,
    sans: list[str] | None = None,
    server: bool = False,
    client: bool = True,
    days: int = 365,
) -> tuple[bytes, bytes]:
    """A fresh key and a certificate for it signed by the CA: (cert PEM, key PEM)."""
    key_pem = new_key()
    usages = []
    if server:
        usages.append("serverAuth")
    if client:
        usages.append("clientAuth")
    ext = [
        "basicConstraints=critical,CA:FALSE",
        "keyUsage=critical,digitalSignature,keyEncipherment",
        "extendedKeyUsage=" + ",".join(usages),
    ]
    if sans:
        ext.append("subjectAltName=" + ",".join(sans))
    with tempfile.TemporaryDirectory() as tmp:
        keyfile, csr, extfile = Path(tmp) / "k", Path(tmp) / "csr", Path(tmp) / "ext"
        keyfile.write_bytes(key_pem)
        extfile.write_text("\n".join(ext) + "\n")
        _openssl("req", "-new", "-key", str(keyfile), "-subj", _subject(cn, orgs or []), "-out", str(csr))
        cert = _openssl(
            "x509",
            "-req",
            "-in",
            str(csr),
            "-CA",
            str(ca_crt),
            "-CAkey",
            str(ca_key),
            "-set_serial",
            "0x" + secrets.token_hex(16),
            "-days",
            str(days),
            "-sha256",
            "-extfile",
            str(extfile),
        )
    return cert, key_pem


def ensure_cert(
    crt: Path,
    key: Path,
    ca_crt: Path,
    ca_key: Path,
    cn: str,
    orgs: list[str] | None = None,
    sans: list[str] | None = None,
    server: bool = False,
    client: bool = True,
) -> bool:
    """Issue once; reissue a serving certificate when its SAN list changes (K3s's dynamiclistener
    adds SANs as the node's addresses change)."""
    record = crt.with_name(crt.name + ".sans")
    wanted = ",".join(sorted(set(sans or [])))
    if crt.exists() and key.exists() and (not sans or (record.exists() and record.read_text() == wanted)):
        return False
    cert, key_pem = sign(ca_crt, ca_key, cn, orgs, sans, server=server, client=client)
    _write_private(key, key_pem)
    _write_public(crt, cert)
    if sans:
        record.write_text(wanted)
    return True


def ensure_sa_key(path: Path, pub: Path | None = None) -> None:
    if not path.exists():
        _write_private(path, _openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"))
    if pub is not None and not pub.exists():
        _write_public(pub, _openssl("pkey", "-in", str(path), "-pubout"))


def b64(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode()


def verify(ca: Path, cert_pem: bytes) -> bool:
    with tempfile.NamedTemporaryFile() as handle:
        handle.write(cert_pem)
        handle.flush()
        return (
            subprocess.run(
                ["openssl", "verify", "-CAfile", str(ca), handle.name], capture_output=True, check=False
            ).returncode
            == 0
        )


def kubeconfig_embedded(server: str, ca: Path, cert: Path, key: Path) -> str:
    """The admin kubeconfig K3s writes: cluster, context and user all named ``default``."""
    return (
        "apiVersion: v1\n"
        "clusters:\n"
        "- cluster:\n"
        f"    certificate-authority-data: {b64(ca)}\n"
        f"    server: {server}\n"
        "  name: default\n"
        "contexts:\n"
        "- context:\n"
        "    cluster: default\n"
        "    user: default\n"
        "  name: default\n"
        "current-context: default\n"
        "kind: Config\n"
        "preferences: {}\n"
        "users:\n"
        "- name: default\n"
        "  user:\n"
        f"    client-certificate-data: {b64(cert)}\n"
        f"    client-key-data: {b64(key)}\n"
    )


def kubeconfig_files(server: str, ca: Path, cert: Path, key: Path) -> str:
    """The component kubeconfigs K3s keeps in server/cred/ and agent/: file references."""
    return (
        "apiVersion: v1\n"
        "clusters:\n"
        "- cluster:\n"
        f"    server: {server}\n"
        f"    certificate-authority: {ca}\n"
        "  name: local\n"
        "contexts:\n"
        "- context:\n"
        "    cluster: local\n"
        "    namespace: default\n"
        "    user: user\n"
        "  name: Default\n"
        "current-context: Default\n"
        "kind: Config\n"
        "preferences: {}\n"
        "users:\n"
        "- name: user\n"
        "  user:\n"
        f"    client-certificate: {cert}\n"
        f"    client-key: {key}\n"
    )


def write_private_text(path: Path, text: str) -> None:
    _write_private(path, text.encode())


def write_public_text(path: Path, text: str, mode: int = 0o644) -> None:
    _write_public(path, text.encode(), mode)
