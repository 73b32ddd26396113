# Copyright: edgeai.inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A filesystem destination: an NFS export, a mounted PVC directory, a local path.

Each file is written to a hidden temporary name beside its target and renamed
into place, so a reader (Triton) sees the old file or the new one, never a part.
The stamp of a written file is its size and mtime on the destination.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile

from ansible_collections.edgeai.inference.plugins.module_utils.errors import StoreError, StoreUnreachable
from ansible_collections.edgeai.inference.plugins.module_utils.model_repository.layout import LocalFile
from ansible_collections.edgeai.inference.plugins.module_utils.model_repository.plan import (
    HASH_CHUNK,
    RemoteObject,
    is_manifest,
)

TEMP_PREFIX = ".edgeai-tmp-"


def _stamp(stat: os.stat_result) -> str:
    return f"{stat.st_size}:{stat.st_mtime_ns}"


class FilesystemStore:
    """A directory that receives the repository."""

    def __init__(self, path: str) -> None:
        self.root = os.path.abspath(path)
        self.description = self.root
        if not os.path.isdir(self.root):
            raise StoreUnreachable(
                f"destination {self.root} is not a directory: create it, or mount the NFS export / PVC there "
                "first (the module does not create the destination root, so a typo cannot publish elsewhere)",
                cause="no_destination",
            )
        if not os.access(self.root, os.W_OK | os.X_OK):
            raise StoreError(
                f"destination {self.root} is not writable by this user: run with become, or fix its owner/mode",
                cause="access_denied",
            )

    def close(self) -> None:
        """Nothing to release."""

    def _path(self, rel: str) -> str:
        return os.path.join(self.root, *rel.split("/"))

    def list(self) -> tuple[dict[str, RemoteObject], list[str]]:
        objects: dict[str, RemoteObject] = {}
        manifests: list[str] = []
        for dirpath, dirnames, filenames in os.walk(self.root):
            dirnames.sort()
            reldir = os.path.relpath(dirpath, self.root).replace(os.sep, "/")
            prefix = "" if reldir == "." else reldir + "/"
            for name in filenames:
                rel = prefix + name
                if is_manifest(rel):
                    manifests.append(rel)
                elif not name.startswith(TEMP_PREFIX):
                    objects[rel] = RemoteObject(*self._remote(dirpath, name))
        return objects, sorted(manifests)

    @staticmethod
    def _remote(dirpath: str, name: str) -> tuple[int, str]:
        stat = os.stat(os.path.join(dirpath, name))
        return stat.st_size, _stamp(stat)

    def read_manifest(self, rel: str) -> bytes:
        try:
            with open(self._path(rel), "rb") as handle:
                return handle.read()
        except OSError as exc:
            raise StoreError(f"cannot read {self._path(rel)}: {exc.strerror}", cause="read") from None

    def write_manifest(self, rel: str, data: bytes) -> None:
        self._write(rel, [data], mode=0o644)

    def _write(self, rel: str, chunks, mode: int, mtime_ns: int | None = None) -> os.stat_result:
        target = self._path(rel)
        directory = os.path.dirname(target)
        try:
            os.makedirs(directory, exist_ok=True)
            fd, temp = tempfile.mkstemp(prefix=TEMP_PREFIX, dir=directory)
        except OSError as exc:
            raise StoreError(f"cannot write {target}: {exc.strerror}", cause="write") from None
        try:
            with os.fdopen(fd, "wb") as handle:
                for chunk in chunks:
                    handle.write(chunk)
            os.chmod(temp, mode)
            if mtime_ns is not None:
                os.utime(temp, ns=(mtime_ns, mtime_ns))
            os.replace(temp, target)
            return os.stat(target)
        except BaseException as exc:
            with contextlib.suppress(OSError):
                os.unlink(temp)
            if isinstance(exc, OSError):
                raise StoreError(f"cannot write {target}: {exc.strerror}", cause="write") from None
            raise

    def put(self, local: LocalFile) -> tuple[str, str, int]:
        digest = hashlib.sha256()
        sent = 0

        def chunks():
            nonlocal sent
            with open(local.path, "rb") as handle:
                for chunk in iter(lambda: handle.read(HASH_CHUNK), b""):
                    digest.update(chunk)
                    sent += len(chunk)
                    yield chunk

        mode = os.stat(local.path).st_mode & 0o777 | 0o444  # readable by the server's user
        stat = self._write(local.relpath, chunks(), mode, local.mtime_ns)
        return digest.hexdigest(), _stamp(stat), sent

    def delete(self, rel: str) -> None:
        target = self._path(rel)
        try:
            os.unlink(target)
        except FileNotFoundError:
            return
        except OSError as exc:
            raise StoreError(f"cannot delete {target}: {exc.strerror}", cause="delete") from None
        # drop directories the delete left empty, up to the root
        directory = os.path.dirname(target)
        while directory != self.root:
            try:
                os.rmdir(directory)
            except OSError:
                break
            directory = os.path.dirname(directory)
