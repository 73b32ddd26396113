# Copyright: edgeai.inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Publish a local model repository to a store: validate, compare, upload, delete, record.

The store is an :class:`S3Store` or a :class:`FilesystemStore` (anything with
``list``, ``read_manifest``, ``write_manifest``, ``put``, ``delete``). Order of
work, chosen for a Triton that may be reading the destination: every version
file, then every ``config.pbtxt``, then (only with ``delete``) stale files, then
the manifest shards whose records changed (plan.py), then the manifest files no
record needs any more. A failed file stops nothing but its own model's
config.pbtxt; an unreachable store stops the rest at once. Either way the
manifest records what did reach the store, so a re-run sends only what is missing.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

from ansible_collections.edgeai.inference.plugins.module_utils.errors import (
    PublishIncomplete,
    StoreError,
    StoreUnreachable,
)
from ansible_collections.edgeai.inference.plugins.module_utils.model_repository import layout
from ansible_collections.edgeai.inference.plugins.module_utils.model_repository.plan import (
    ManifestEntry,
    Plan,
    RemoteObject,
    build_plan,
    describe,
    is_config,
    merge_manifests,
    parse_manifest,
    remote_sha256,
    render_manifest,
    split_manifest,
)


class Store(Protocol):
    description: str

    def list(self) -> tuple[dict[str, RemoteObject], list[str]]: ...

    def read_manifest(self, rel: str) -> bytes: ...

    def write_manifest(self, rel: str, data: bytes) -> None: ...

    def put(self, local: layout.LocalFile) -> tuple[str, str, int]: ...

    def delete(self, rel: str) -> None: ...


@dataclass
class Report:
    """What a publish did (or, in check mode, would do)."""

    destination: str
    models: list[str]
    added: list[str]
    modified: list[str]
    deleted: list[str]
    stale: list[str]
    unchanged: int
    changed: bool
    bytes_uploaded: int = 0
    diff: dict[str, str] = field(default_factory=dict)

    @property
    def models_changed(self) -> list[str]:
        """Models with a file added, modified or deleted: those a Triton in EXPLICIT mode must reload."""
        return sorted({rel.split("/")[0] for rel in self.added + self.modified + self.deleted if "/" in rel})

    def as_dict(self) -> dict[str, Any]:
        return {
            "destination": self.destination,
            "models": self.models,
            "models_changed": self.models_changed,
            "added": self.added,
            "modified": self.modified,
            "deleted": self.deleted,
            "stale": self.stale,
            "unchanged": self.unchanged,
            "bytes_uploaded": self.bytes_uploaded,
        }


@dataclass
class _Outcome:
    entries: dict[str, ManifestEntry] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    sent: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    abort: threading.Event = field(default_factory=threading.Event)


def _ours(rel: str, exclude, include) -> bool:
    """Remote files the filters would skip locally belong to someone else: never compared or deleted."""
    return not layout.is_excluded(rel, exclude) and layout.is_included(rel, include)


def _run_parallel(workers: int, jobs: list[str], work, outcome: _Outcome) -> None:
    def guarded(rel: str) -> None:
        if outcome.abort.is_set():
            outcome.skipped[rel] = "not attempted: the store became unreachable"
            return
        try:
            work(rel)
        except StoreUnreachable as exc:
            outcome.abort.set()
            outcome.failed[rel] = str(exc)
        except StoreError as exc:
            outcome.failed[rel] = str(exc)
        except OSError as exc:
            outcome.failed[rel] = f"cannot read {rel}: {exc.strerror or exc}"

    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="publish") as pool:
        list(pool.map(guarded, jobs))


def _read_manifests(store: Store, names: list[str], workers: int) -> dict[str, dict[str, ManifestEntry]]:
    """Every manifest file the listing showed, parsed (a damaged one holds no record), read in parallel."""
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(names))), thread_name_prefix="manifest") as pool:
        raws = list(pool.map(store.read_manifest, names))
    return {rel: parse_manifest(raw) for rel, raw in zip(names, raws)}  # noqa: B905 (Python 3.8 on the nodes)


def _record(store: Store, stored: dict[str, dict[str, ManifestEntry]], outcome: _Outcome, workers: int) -> str | None:
    """Write the shards whose records changed, then remove the manifest files no record needs
    (the earlier single manifest among them); the first error, or None. Crash-safe at every step:
    until a shard is written its older records stand, and they vouch only for the objects they name."""
    wanted = split_manifest(outcome.entries)
    writes = sorted(rel for rel, entries in wanted.items() if stored.get(rel) != entries)
    errors: dict[str, str] = {}

    def write(rel: str) -> None:
        data = render_manifest(wanted[rel])
        store.write_manifest(rel, data)
        with outcome.lock:
            outcome.sent += len(data)

    def guarded(job, rel: str) -> None:
        try:
            job(rel)
        except StoreError as exc:
            errors[rel] = str(exc)

    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="manifest") as pool:
        list(pool.map(lambda rel: guarded(write, rel), writes))
        if not errors:
            list(pool.map(lambda rel: guarded(store.delete, rel), sorted(rel for rel in stored if rel not in wanted)))
    return "; ".join(f"{rel}: {why}" for rel, why in sorted(errors.items())[:3]) or None


def _plan_diff(
    local: dict[str, layout.LocalFile],
    remote: dict[str, RemoteObject],
    manifest: dict[str, ManifestEntry],
    plan: Plan,
) -> dict[str, str]:
    before = {rel: remote_sha256(rel, remote, manifest) for rel in remote}
    after: dict[str, str | None] = {rel: plan.hashes.get(rel) for rel in local}
    after.update({rel: before[rel] for rel in plan.stale})
    return {
        "before_header": "destination",
        "after_header": "destination",
        "before": describe(before),
        "after": describe(after),
    }


def publish(
    src: str,
    store: Store,
    *,
    delete: bool = False,
    exclude=layout.DEFAULT_EXCLUDE,
    include=(),
    validate: bool = True,
    rehash: bool = False,
    workers: int = 8,
    check_mode: bool = False,
    want_diff: bool = False,
) -> Report:
    """Bring the store to the local repository's content; see the module's documentation."""
    local = layout.scan(src, exclude, include)
    models = (
        layout.validate(local, src, exclude, include)
        if validate
        else sorted({rel.split("/")[0] for rel in local if "/" in rel})
    )
    listed, manifest_files = store.list()
    remote = {rel: obj for rel, obj in listed.items() if _ours(rel, exclude, include)}
    stored = _read_manifests(store, manifest_files, workers)
    manifest = merge_manifests(stored)
    plan = build_plan(local, remote, manifest, delete=delete, rehash=rehash, hash_all=want_diff)
    report = Report(
        destination=store.description,
        models=models,
        added=plan.add,
        modified=plan.change,
        deleted=sorted(plan.delete),
        stale=plan.stale,
        unchanged=len(plan.unchanged),
        changed=plan.changed,
        diff=_plan_diff(local, remote, manifest, plan) if want_diff else {},
    )
    if check_mode or not plan.changed:
        return report

    outcome = _Outcome()
    # what the destination still holds untouched keeps (or gets) its record
    for rel in plan.unchanged:
        old = manifest[rel]
        outcome.entries[rel] = ManifestEntry(old.sha256, old.size, local[rel].mtime_ns, old.stamp)
    for rel in plan.stale + plan.uploads:
        if remote_sha256(rel, remote, manifest) is not None:
            outcome.entries[rel] = manifest[rel]

    def upload(rel: str) -> None:
        item = local[rel]
        sha, stamp, sent = store.put(item)
        with outcome.lock:
            outcome.entries[rel] = ManifestEntry(sha, item.size, item.mtime_ns, stamp)
            outcome.sent += sent

    uploads = plan.uploads
    # largest first: a big file started last would leave the other workers idle at the end
    files = sorted((rel for rel in uploads if not is_config(rel)), key=lambda rel: -local[rel].size)
    _run_parallel(workers, files, upload, outcome)
    broken_models = {rel.split("/")[0] for rel in outcome.failed}
    configs = []
    for rel in (rel for rel in uploads if is_config(rel)):
        if rel.split("/")[0] in broken_models:
            outcome.skipped[rel] = "held back: a file of this model failed, so Triton must not see a new config"
        else:
            configs.append(rel)
    _run_parallel(workers, configs, upload, outcome)

    deleted: list[str] = []
    if outcome.failed or outcome.skipped:
        for rel in plan.delete:
            outcome.skipped[rel] = "delete held back: the upload did not complete"
    else:

        def remove(rel: str) -> None:
            store.delete(rel)
            with outcome.lock:
                outcome.entries.pop(rel, None)
                deleted.append(rel)

        # configs of removed models go first, then their files
        _run_parallel(workers, [rel for rel in plan.delete if is_config(rel)], remove, outcome)
        _run_parallel(workers, [rel for rel in plan.delete if not is_config(rel)], remove, outcome)

    # recorded even after a failure, so a re-run sends only what is missing
    manifest_error = _record(store, stored, outcome, workers)

    published = sorted(rel for rel in uploads if rel not in outcome.failed and rel not in outcome.skipped)
    report.bytes_uploaded = outcome.sent
    report.deleted = sorted(deleted)
    if outcome.failed or outcome.skipped or manifest_error:
        not_published = {**outcome.skipped, **outcome.failed}
        first = sorted(outcome.failed.items())[:3]
        reasons = "; ".join(f"{rel}: {why}" for rel, why in first) or manifest_error or "see not_published"
        # what did reach the destination changed it
        report.changed = bool(published or report.deleted)
        raise PublishIncomplete(
            f"publish to {store.description} incomplete: {len(published)} file(s) published, "
            f"{len(not_published)} not ({reasons}). Fix the cause and re-run: files already published are "
            "not sent again",
            result={**report.as_dict(), "changed": report.changed},
            published=published,
            not_published=dict(sorted(not_published.items())),
            manifest_error=manifest_error,
        )
    return report
