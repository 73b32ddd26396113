# Copyright: edgeai.inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Compare a local repository with what the destination holds, by content.

The destination keeps a manifest with, per file, the sha256 of its content,
the size, the source file's mtime when it was hashed, and the destination's own
stamp of the object it wrote (the S3 ETag, or the file's size and mtime on a
filesystem). The manifest is split into up to MANIFEST_SHARDS files at the
repository root (``.edgeai-manifest-<nn>.json``, which Triton ignores: it loads
directories only), each file's record in the shard its path hashes to, so a
publish rewrites only the shards whose records changed: what a change sends
grows with what changed, not with the repository. The single manifest of
earlier releases (``.edgeai-manifest.json``) is read too, and removed once the
shards hold its records. A remote file counts as known only
while the listing still shows that stamp, so a file changed behind the
module's back is published again. A local file is re-hashed only when its
size or mtime differs from the manifest's record (or when asked to).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from ansible_collections.edgeai.inference.plugins.module_utils.model_repository.layout import (
    CONFIG_NAME,
    LocalFile,
)

MANIFEST_NAME = ".edgeai-manifest.json"  # the single manifest of earlier releases: read, then replaced
SHARD_PREFIX = ".edgeai-manifest-"
MANIFEST_SHARDS = 64
MANIFEST_FORMAT = 1
HASH_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class RemoteObject:
    """What one listing says about a destination file."""

    size: int
    stamp: str


@dataclass(frozen=True)
class ManifestEntry:
    sha256: str
    size: int
    mtime_ns: int
    stamp: str


@dataclass
class Plan:
    """What a publish does, in order: uploads (version files, then config.pbtxt), then deletes."""

    add: list[str] = field(default_factory=list)
    change: list[str] = field(default_factory=list)
    delete: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    # sha256 of local files hashed while planning
    hashes: dict[str, str] = field(default_factory=dict)

    @property
    def uploads(self) -> list[str]:
        return order_uploads(self.add + self.change)

    @property
    def changed(self) -> bool:
        return bool(self.add or self.change or self.delete)


def sha256_file(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(HASH_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def is_config(relpath: str) -> bool:
    parts = relpath.split("/")
    return len(parts) == 2 and parts[1] == CONFIG_NAME


def order_uploads(relpaths: list[str]) -> list[str]:
    """Version and other files first, each model's config.pbtxt last: Triton never sees a config
    that points at files not yet there."""
    return sorted(relpaths, key=lambda rel: (is_config(rel), rel))


def order_deletes(relpaths: list[str]) -> list[str]:
    """The reverse of uploads: a removed model loses its config.pbtxt before its files."""
    return sorted(relpaths, key=lambda rel: (not is_config(rel), rel))


def is_manifest(rel: str) -> bool:
    """A manifest file of the destination (a shard, or the single manifest of earlier releases)."""
    return "/" not in rel and (rel == MANIFEST_NAME or (rel.startswith(SHARD_PREFIX) and rel.endswith(".json")))


def shard_of(rel: str) -> str:
    """The manifest shard that records ``rel``: stable for a path, spread evenly over the shards."""
    bucket = int(hashlib.sha256(rel.encode()).hexdigest()[:8], 16) % MANIFEST_SHARDS
    return f"{SHARD_PREFIX}{bucket:02x}.json"


def split_manifest(entries: dict[str, ManifestEntry]) -> dict[str, dict[str, ManifestEntry]]:
    """Records by the shard they belong in; shards with no record are absent."""
    shards: dict[str, dict[str, ManifestEntry]] = {}
    for rel, entry in entries.items():
        shards.setdefault(shard_of(rel), {})[rel] = entry
    return shards


def merge_manifests(stored: dict[str, dict[str, ManifestEntry]]) -> dict[str, ManifestEntry]:
    """One view of every stored manifest file: the earlier single manifest first, shards over it.

    A record found twice (a publish that stopped between writing a shard and removing an older
    file) is safe either way: a record vouches only while the listing shows its stamp."""
    merged = dict(stored.get(MANIFEST_NAME, {}))
    for rel in sorted(r for r in stored if r != MANIFEST_NAME):
        merged.update(stored[rel])
    return merged


def parse_manifest(raw: bytes | None) -> dict[str, ManifestEntry]:
    """The manifest's entries; an absent, foreign or damaged manifest counts as empty."""
    if not raw:
        return {}
    try:
        data = json.loads(raw)
        if data.get("format") != MANIFEST_FORMAT:
            return {}
        return {
            rel: ManifestEntry(str(e["sha256"]), int(e["size"]), int(e["mtime_ns"]), str(e["stamp"]))
            for rel, e in data["files"].items()
        }
    except (ValueError, KeyError, TypeError, AttributeError):
        return {}


def render_manifest(entries: dict[str, ManifestEntry]) -> bytes:
    files = {
        rel: {"sha256": e.sha256, "size": e.size, "mtime_ns": e.mtime_ns, "stamp": e.stamp}
        for rel, e in sorted(entries.items())
    }
    data: dict[str, Any] = {
        "format": MANIFEST_FORMAT,
        "written_by": "edgeai.inference.model_repository_sync",
        "files": files,
    }
    return (json.dumps(data, indent=1, sort_keys=True) + "\n").encode()


def remote_sha256(rel: str, remote: dict[str, RemoteObject], manifest: dict[str, ManifestEntry]) -> str | None:
    """The content hash of a destination file, when the manifest vouches for the object listed."""
    obj, entry = remote.get(rel), manifest.get(rel)
    if obj is None or entry is None or obj.size != entry.size or obj.stamp != entry.stamp:
        return None
    return entry.sha256


def local_sha256(local: LocalFile, manifest: dict[str, ManifestEntry], rehash: bool) -> str:
    entry = manifest.get(local.relpath)
    if not rehash and entry is not None and entry.size == local.size and entry.mtime_ns == local.mtime_ns:
        return entry.sha256
    return sha256_file(local.path)


def build_plan(
    local: dict[str, LocalFile],
    remote: dict[str, RemoteObject],
    manifest: dict[str, ManifestEntry],
    delete: bool,
    rehash: bool = False,
    hash_all: bool = False,
) -> Plan:
    """Decide every file. Files bound to be uploaded anyway (absent remotely, unknown remote
    content, other size) are not hashed here; they are hashed while they are sent. ``hash_all``
    hashes them too (for a diff that shows content hashes)."""
    plan = Plan()
    for rel, item in sorted(local.items()):
        remote_hash = remote_sha256(rel, remote, manifest)
        if rel not in remote:
            plan.add.append(rel)
        elif remote_hash is None or remote[rel].size != item.size:
            plan.change.append(rel)
        else:
            plan.hashes[rel] = local_sha256(item, manifest, rehash)
            (plan.unchanged if plan.hashes[rel] == remote_hash else plan.change).append(rel)
        if hash_all and rel not in plan.hashes:
            plan.hashes[rel] = local_sha256(item, manifest, rehash)
    extra = sorted(rel for rel in remote if rel not in local)
    if delete:
        plan.delete = order_deletes(extra)
    else:
        plan.stale = extra
    return plan


def describe(files: dict[str, str | None]) -> str:
    """One line per file for Ansible's diff: path and short content hash (? when unknown)."""
    return "".join(f"{rel}  sha256:{(sha or '?')[:16]}\n" for rel, sha in sorted(files.items()))
