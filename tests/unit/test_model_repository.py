"""model_repository_sync's pure logic: layout validation, config.pbtxt parsing, change detection, diffs."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from ansible_collections.edgeai.inference.plugins.module_utils.errors import InvalidModelRepository
from ansible_collections.edgeai.inference.plugins.module_utils.model_repository import layout, plan
from ansible_collections.edgeai.inference.plugins.module_utils.model_repository.plan import (
    ManifestEntry,
    RemoteObject,
    build_plan,
)
from tests.labenv import REPO_ROOT

LAB_MODELS = REPO_ROOT / "lab" / "models"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A copy of the lab's two models (linear, labels), valid as they are."""
    root = tmp_path / "repo"
    shutil.copytree(LAB_MODELS, root, ignore=shutil.ignore_patterns("__pycache__"))
    return root


def problems_of(root: Path, **kwargs) -> list[str]:
    with pytest.raises(InvalidModelRepository) as caught:
        layout.validate(layout.scan(root, **kwargs), root)
    assert "nothing was published" in str(caught.value)
    return caught.value.details["problems"]


def test_lab_models_are_valid(repo):
    assert layout.validate(layout.scan(repo), repo) == ["labels", "linear"]


def test_scan_excludes_hidden_pycache_and_pyc_by_default(repo):
    (repo / "linear" / "1" / "__pycache__").mkdir()
    (repo / "linear" / "1" / "__pycache__" / "model.cpython-311.pyc").write_bytes(b"x")
    (repo / ".git").mkdir()
    (repo / ".git" / "HEAD").write_text("ref")
    (repo / "linear" / ".notes.swp").write_text("x")
    (repo / "linear" / "1" / "stray.pyc").write_bytes(b"x")
    files = layout.scan(repo)
    assert sorted(files) == [
        "labels/1/model.py",
        "labels/config.pbtxt",
        "labels/labels.txt",
        "linear/1/model.py",
        "linear/config.pbtxt",
    ]
    assert files["linear/1/model.py"].size == (repo / "linear/1/model.py").stat().st_size


def test_scan_include_and_custom_exclude(repo):
    assert sorted(layout.scan(repo, include=["linear/*"])) == ["linear/1/model.py", "linear/config.pbtxt"]
    assert "labels/labels.txt" not in layout.scan(repo, exclude=["*.txt"])


def test_missing_config_is_named(repo):
    (repo / "linear" / "config.pbtxt").unlink()
    assert problems_of(repo) == ["linear: no config.pbtxt: every model directory needs one (the model's configuration)"]


def test_malformed_pbtxt_names_file_line_and_column(repo):
    (repo / "linear" / "config.pbtxt").write_text('name: "linear"\nbackend: "python"\nmax_batch_size: eight\n')
    [problem] = problems_of(repo)
    assert problem.startswith("linear/config.pbtxt: not a valid Triton ModelConfig: 3:"), problem


def test_unknown_field_is_rejected_by_the_schema(repo):
    (repo / "linear" / "config.pbtxt").write_text('name: "linear"\nbackend: "python"\nmax_batch: 8\n')
    [problem] = problems_of(repo)
    assert "max_batch" in problem and "ModelConfig" in problem, problem


def test_name_must_match_directory(repo):
    text = (repo / "linear" / "config.pbtxt").read_text().replace('name: "linear"', 'name: "linear2"')
    (repo / "linear" / "config.pbtxt").write_text(text)
    [problem] = problems_of(repo)
    assert "name 'linear2' does not match its directory 'linear'" in problem


def test_version_directories_numeric_no_leading_zero_non_empty(repo):
    (repo / "linear" / "1").rename(repo / "linear" / "v1")
    (repo / "labels" / "01").mkdir()
    (repo / "labels" / "01" / "model.py").write_text("")
    (repo / "labels" / "2").mkdir()
    found = problems_of(repo)
    assert any(p.startswith("labels/01: version directory must be a positive integer") for p in found), found
    assert "labels/2: version directory is empty: add the model file or remove it" in found, found
    assert any(p.startswith("linear/v1: version directory must be a positive integer") for p in found), found


def test_every_problem_is_listed_at_once(repo):
    (repo / "linear" / "config.pbtxt").write_text("garbage {")
    (repo / "labels" / "1" / "model.py").rename(repo / "labels" / "1" / "model.txt")
    (repo / "empty_model").mkdir()
    found = problems_of(repo)
    assert len(found) >= 3, found
    assert any("labels/1: backend 'python' needs model.py" in p for p in found), found
    assert any(p.startswith("empty_model: no config.pbtxt") for p in found), found
    assert any(p.startswith("linear/config.pbtxt: not a valid") for p in found), found


@pytest.mark.parametrize(
    ("config", "model_file", "ok"),
    [
        ('platform: "onnxruntime_onnx"', "model.onnx", True),
        ('platform: "onnxruntime_onnx"', "model.pt", False),
        ('platform: "tensorrt_plan"', "model.plan", True),
        ('platform: "tensorflow_graphdef"', "model.graphdef", True),
        ('platform: "pytorch_libtorch"', "model.pt", True),
        ('backend: "onnxruntime"', "model.onnx", True),
        ('backend: "pytorch"', "weights.pt", False),
        ('backend: "pytorch"\ndefault_model_filename: "weights.pt"', "weights.pt", True),
        ("", "model.onnx", True),
        ("", "weights.bin", False),
        ('backend: "my_custom_backend"', "anything.bin", True),
    ],
)
def test_required_model_file_per_platform_and_backend(tmp_path, config, model_file, ok):
    (tmp_path / "m" / "1").mkdir(parents=True)
    (tmp_path / "m" / "config.pbtxt").write_text(f'name: "m"\n{config}\n')
    (tmp_path / "m" / "1" / model_file).write_bytes(b"\0")
    if ok:
        assert layout.validate(layout.scan(tmp_path), tmp_path) == ["m"]
    else:
        [problem] = problems_of(tmp_path)
        assert problem.startswith("m/1: ") and "needs" in problem, problem


def test_savedmodel_directory_and_ensemble_without_files(tmp_path):
    (tmp_path / "tf" / "1" / "model.savedmodel" / "variables").mkdir(parents=True)
    (tmp_path / "tf" / "1" / "model.savedmodel" / "saved_model.pb").write_bytes(b"\0")
    (tmp_path / "tf" / "config.pbtxt").write_text('platform: "tensorflow_savedmodel"\n')
    (tmp_path / "pipe" / "1").mkdir(parents=True)
    (tmp_path / "pipe" / "config.pbtxt").write_text('name: "pipe"\nplatform: "ensemble"\n')
    assert layout.validate(layout.scan(tmp_path), tmp_path) == ["pipe", "tf"]


def test_version_policy_naming_a_missing_version(repo):
    config = repo / "linear" / "config.pbtxt"
    config.write_text(config.read_text() + "version_policy: { specific: { versions: [1, 3] } }\n")
    assert problems_of(repo) == ["linear/config.pbtxt: version_policy names version 3, but linear/3/ is absent"]


def test_not_a_directory(tmp_path):
    with pytest.raises(InvalidModelRepository, match="is not a directory"):
        layout.scan(tmp_path / "nope")


# -- change detection -----------------------------------------------------------------------------


def local_files(root: Path) -> dict[str, layout.LocalFile]:
    return layout.scan(root)


def published_state(files: dict[str, layout.LocalFile]):
    """What the destination would hold after a publish: listing + manifest vouching for it."""
    remote = {rel: RemoteObject(f.size, f"etag-{rel}") for rel, f in files.items()}
    manifest = {
        rel: ManifestEntry(plan.sha256_file(f.path), f.size, f.mtime_ns, f"etag-{rel}") for rel, f in files.items()
    }
    return remote, manifest


def test_identical_content_plans_nothing(repo):
    files = local_files(repo)
    remote, manifest = published_state(files)
    result = build_plan(files, remote, manifest, delete=True)
    assert not result.changed
    assert sorted(result.unchanged) == sorted(files)


def test_empty_destination_adds_everything_config_last(repo):
    files = local_files(repo)
    result = build_plan(files, {}, {}, delete=False)
    assert result.uploads == [
        "labels/1/model.py",
        "labels/labels.txt",
        "linear/1/model.py",
        "labels/config.pbtxt",
        "linear/config.pbtxt",
    ]
    assert result.hashes == {}, "files bound for upload are hashed while sent, not twice"


def test_same_size_edit_is_detected_through_mtime(repo):
    files = local_files(repo)
    remote, manifest = published_state(files)
    target = repo / "linear" / "1" / "model.py"
    data = bytearray(target.read_bytes())
    data[0] ^= 0x01
    target.write_bytes(bytes(data))
    os.utime(target, ns=(files["linear/1/model.py"].mtime_ns + 10**9,) * 2)
    result = build_plan(local_files(repo), remote, manifest, delete=False)
    assert result.change == ["linear/1/model.py"] and not result.add


def test_unchanged_size_and_mtime_are_not_rehashed_unless_asked(repo):
    files = local_files(repo)
    remote, manifest = published_state(files)
    target = repo / "linear" / "1" / "model.py"
    before = target.stat()
    data = bytearray(target.read_bytes())
    data[0] ^= 0x01
    target.write_bytes(bytes(data))
    os.utime(target, ns=(before.st_atime_ns, before.st_mtime_ns))  # an edit that keeps size and mtime
    assert not build_plan(local_files(repo), remote, manifest, delete=False).changed
    assert build_plan(local_files(repo), remote, manifest, delete=False, rehash=True).change == ["linear/1/model.py"]


def test_object_replaced_behind_our_back_is_sent_again(repo):
    files = local_files(repo)
    remote, manifest = published_state(files)
    remote["linear/config.pbtxt"] = RemoteObject(remote["linear/config.pbtxt"].size, "another-etag")
    assert build_plan(files, remote, manifest, delete=False).change == ["linear/config.pbtxt"]


def test_stale_files_are_reported_or_deleted_configs_first(repo):
    files = local_files(repo)
    remote, manifest = published_state(files)
    remote["old/config.pbtxt"] = RemoteObject(3, "e1")
    remote["old/1/model.onnx"] = RemoteObject(3, "e2")
    kept = build_plan(files, remote, manifest, delete=False)
    assert kept.stale == ["old/1/model.onnx", "old/config.pbtxt"] and not kept.delete and not kept.changed
    removed = build_plan(files, remote, manifest, delete=True)
    assert removed.delete == ["old/config.pbtxt", "old/1/model.onnx"] and removed.changed


def test_manifest_round_trip_and_damage(repo):
    entries = {"a/1/m.onnx": ManifestEntry("ab" * 32, 3, 7, "etag")}
    assert plan.parse_manifest(plan.render_manifest(entries)) == entries
    assert plan.parse_manifest(b"{not json") == {}
    assert plan.parse_manifest(json.dumps({"format": 99, "files": {}}).encode()) == {}
    assert plan.parse_manifest(json.dumps({"format": 1, "files": {"x": {"sha256": "a"}}}).encode()) == {}


def test_diff_lines_show_path_and_short_hash():
    assert plan.describe({"b/config.pbtxt": "f" * 64, "a/1/model.py": None}) == (
        "a/1/model.py  sha256:?\nb/config.pbtxt  sha256:ffffffffffffffff\n"
    )
