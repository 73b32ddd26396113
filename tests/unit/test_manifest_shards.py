"""The publish's manifest in shards, on a real directory (the filesystem store): what a change
sends grows with what changed, the single manifest of earlier releases is read and replaced, and
a shard that cannot be written leaves a store a re-run completes."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from ansible_collections.edgeai.inference.plugins.module_utils.errors import PublishIncomplete, StoreError
from ansible_collections.edgeai.inference.plugins.module_utils.model_repository import plan
from ansible_collections.edgeai.inference.plugins.module_utils.model_repository.store_fs import FilesystemStore
from ansible_collections.edgeai.inference.plugins.module_utils.model_repository.sync import publish
from tests.support.manifest import with_manifest

FILES = 600  # small files over three models: every one of the 64 shards gets records


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "src"
    for i in range(FILES):
        path = root / f"model_{i % 3}" / "1" / f"part-{i:04d}.bin"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(os.urandom(256))
    return root


@pytest.fixture
def dest(tmp_path: Path) -> Path:
    path = tmp_path / "dest"
    path.mkdir()
    return path


def listing(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def stamps(root: Path) -> dict[str, int]:
    return {rel: (root / rel).stat().st_mtime_ns for rel in listing(root)}


def run(repo: Path, dest: Path, **kwargs):
    return publish(str(repo), FilesystemStore(str(dest)), validate=False, **kwargs)


def files_of(repo: Path) -> list[str]:
    return listing(repo)


def test_a_publish_writes_a_shard_per_hash_bucket_and_a_rerun_sends_nothing(repo, dest):
    first = run(repo, dest)
    assert first.changed and len(first.added) == FILES
    assert listing(dest) == with_manifest(files_of(repo))
    shards = [rel for rel in listing(dest) if plan.is_manifest(rel)]
    assert len(shards) == plan.MANIFEST_SHARDS and plan.MANIFEST_NAME not in shards
    # every record sits in the shard its path hashes to, and nowhere else
    for shard in shards:
        recorded = json.loads((dest / shard).read_text())["files"]
        assert recorded and all(plan.shard_of(rel) == shard for rel in recorded)
    again = run(repo, dest)
    assert not again.changed and again.bytes_uploaded == 0 and again.unchanged == FILES


def test_a_one_file_edit_sends_the_file_and_one_shard(repo, dest):
    run(repo, dest)
    before = stamps(dest)
    edited = "model_1/1/part-0007.bin"
    (repo / edited).write_bytes(os.urandom(256))
    result = run(repo, dest)
    assert result.modified == [edited]
    rewritten = {rel for rel, mtime in stamps(dest).items() if before.get(rel) != mtime}
    assert rewritten == {edited, plan.shard_of(edited)}
    shard_size = (dest / plan.shard_of(edited)).stat().st_size
    assert result.bytes_uploaded == 256 + shard_size
    # a whole manifest of FILES records would be 64 times that shard, give or take
    assert shard_size * 16 < sum((dest / r).stat().st_size for r in listing(dest) if plan.is_manifest(r))


def test_the_single_manifest_of_earlier_releases_vouches_then_is_replaced(repo, dest):
    run(repo, dest)
    shards = [rel for rel in listing(dest) if plan.is_manifest(rel)]
    merged = plan.merge_manifests({rel: plan.parse_manifest((dest / rel).read_bytes()) for rel in shards})
    (dest / plan.MANIFEST_NAME).write_bytes(plan.render_manifest(merged))
    for rel in shards:
        (dest / rel).unlink()

    unchanged = run(repo, dest)
    assert not unchanged.changed and unchanged.bytes_uploaded == 0, "the earlier manifest no longer vouches"

    edited = "model_0/1/part-0003.bin"
    (repo / edited).write_bytes(os.urandom(256))
    migrated = run(repo, dest)
    assert migrated.modified == [edited], "records of the earlier manifest were lost"
    assert listing(dest) == with_manifest(files_of(repo)), "the earlier manifest was not replaced by shards"
    assert not run(repo, dest).changed


def test_deleting_a_model_removes_the_shards_only_it_needed(repo, dest, tmp_path):
    small = tmp_path / "small"
    for rel in ("a/1/model.bin", "b/1/model.bin"):
        (small / rel).parent.mkdir(parents=True, exist_ok=True)
        (small / rel).write_bytes(b"x" * 10)
    run(small, dest)
    assert listing(dest) == with_manifest(["a/1/model.bin", "b/1/model.bin"])
    (small / "b/1/model.bin").unlink()
    (small / "b/1").rmdir()
    (small / "b").rmdir()
    result = run(small, dest, delete=True)
    assert result.deleted == ["b/1/model.bin"]
    assert listing(dest) == with_manifest(["a/1/model.bin"])


class FailingShards(FilesystemStore):
    """A real directory whose manifest writes fail, as a store that fills up or goes away would."""

    def write_manifest(self, rel: str, data: bytes) -> None:
        raise StoreError(f"cannot write {rel}: No space left on device", cause="write")


def test_a_shard_that_cannot_be_written_fails_naming_it_and_a_rerun_completes(repo, dest):
    run(repo, dest)
    before = {rel: (dest / rel).read_bytes() for rel in listing(dest) if plan.is_manifest(rel)}
    edited = "model_2/1/part-0011.bin"
    (repo / edited).write_bytes(os.urandom(256))
    with pytest.raises(PublishIncomplete) as failed:
        publish(str(repo), FailingShards(str(dest)), validate=False)
    assert plan.shard_of(edited) in str(failed.value) and "No space left" in str(failed.value)
    # nothing half-written: every shard as it was; the old record no longer vouches for the new file
    assert {rel: (dest / rel).read_bytes() for rel in listing(dest) if plan.is_manifest(rel)} == before
    again = run(repo, dest)
    assert again.modified == [edited] and again.bytes_uploaded > 256
    assert not run(repo, dest).changed


def test_a_damaged_shard_costs_only_its_own_files(repo, dest):
    run(repo, dest)
    victim = plan.shard_of("model_0/1/part-0000.bin")
    recorded = json.loads((dest / victim).read_text())["files"]
    (dest / victim).write_text("{not json")
    result = run(repo, dest)
    assert sorted(result.modified) == sorted(recorded)
    assert not run(repo, dest).changed
