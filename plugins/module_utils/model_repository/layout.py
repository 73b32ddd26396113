# Copyright: edgeai.inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read a local Triton model repository: which files to publish, and is it valid.

Layout (Triton's model repository rules)::

    <repository>/<model>/config.pbtxt
    <repository>/<model>/<version>/<model file>     version: a positive integer, no leading zero

Validation collects every problem before raising, so one run shows them all.
"""

from __future__ import annotations

import fnmatch
import functools
import importlib.util
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ansible_collections.edgeai.inference.plugins.module_utils.errors import InvalidModelRepository

try:
    from google.protobuf import text_format

    HAS_PROTOBUF = True
except ImportError:  # reported by the module through missing_required_lib
    HAS_PROTOBUF = False


def _model_config_source() -> str | None:
    """tritonclient's generated model_config_pb2.py, found without importing tritonclient.grpc
    (whose package start-up loads gRPC: half a second the validation does not need)."""
    try:
        spec = importlib.util.find_spec("tritonclient")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.origin:
        return None
    path = os.path.join(os.path.dirname(spec.origin), "grpc", "model_config_pb2.py")
    return path if os.path.isfile(path) else None


HAS_MODEL_CONFIG = HAS_PROTOBUF and _model_config_source() is not None
MODEL_CONFIG_IMPORT_ERROR = None if HAS_MODEL_CONFIG else "tritonclient (grpc extra) and protobuf are needed"


@functools.lru_cache(maxsize=1)
def model_config_class() -> Any:
    """Triton's ModelConfig message class, the schema config.pbtxt is parsed with."""
    loaded = sys.modules.get("tritonclient.grpc.model_config_pb2")
    if loaded is None:
        spec = importlib.util.spec_from_file_location("_edgeai_triton_model_config_pb2", _model_config_source())
        loaded = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(loaded)
    return loaded.ModelConfig


CONFIG_NAME = "config.pbtxt"
DEFAULT_EXCLUDE = (".*", "__pycache__", "*.pyc")

# The file (or directory) each platform or backend loads from a version directory,
# unless config.pbtxt names another with default_model_filename.
PLATFORM_FILES: dict[str, tuple[str, ...]] = {
    "tensorrt_plan": ("model.plan",),
    "tensorflow_graphdef": ("model.graphdef",),
    "tensorflow_savedmodel": ("model.savedmodel",),
    "onnxruntime_onnx": ("model.onnx",),
    "pytorch_libtorch": ("model.pt",),
}
BACKEND_FILES: dict[str, tuple[str, ...]] = {
    "tensorrt": ("model.plan",),
    "tensorflow": ("model.graphdef", "model.savedmodel"),
    "onnxruntime": ("model.onnx",),
    "pytorch": ("model.pt",),
    "python": ("model.py",),
    "openvino": ("model.xml",),
}
KNOWN_MODEL_FILES = tuple(
    sorted({name for names in (*PLATFORM_FILES.values(), *BACKEND_FILES.values()) for name in names})
)


@dataclass(frozen=True)
class LocalFile:
    """One file to publish: its path relative to the repository root ('/'-separated)."""

    relpath: str
    path: str
    size: int
    mtime_ns: int


def is_excluded(relpath: str, exclude: tuple[str, ...] | list[str]) -> bool:
    """True when a pattern matches the whole relative path or any one of its components."""
    parts = relpath.split("/")
    return any(fnmatch.fnmatchcase(relpath, pat) or any(fnmatch.fnmatchcase(p, pat) for p in parts) for pat in exclude)


def is_included(relpath: str, include: tuple[str, ...] | list[str]) -> bool:
    """With no include patterns everything is included; otherwise one must match the relative path."""
    return not include or any(fnmatch.fnmatchcase(relpath, pat) for pat in include)


def scan(root: str | Path, exclude: tuple[str, ...] | list[str] = DEFAULT_EXCLUDE, include=()) -> dict[str, LocalFile]:
    """Every file under root that passes the filters, keyed by relative path."""
    root = Path(root)
    if not root.is_dir():
        raise InvalidModelRepository(
            f"model repository {root} is not a directory: set src to the directory that holds one folder per model",
            problems=[f"{root}: not a directory"],
        )
    files: dict[str, LocalFile] = {}
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        reldir = os.path.relpath(dirpath, root).replace(os.sep, "/")
        prefix = "" if reldir == "." else reldir + "/"
        # prune excluded directories so their contents are never read
        dirnames[:] = sorted(d for d in dirnames if not is_excluded(prefix + d, exclude))
        for name in sorted(filenames):
            relpath = prefix + name
            if is_excluded(relpath, exclude) or not is_included(relpath, include):
                continue
            path = os.path.join(dirpath, name)
            stat = os.stat(path)
            files[relpath] = LocalFile(relpath, path, stat.st_size, stat.st_mtime_ns)
    return files


def parse_config(text: str, origin: str) -> Any:
    """Parse config.pbtxt text with Triton's ModelConfig protobuf; ValueError names line and column."""
    config = model_config_class()()
    try:
        text_format.Parse(text, config)
    except text_format.ParseError as exc:
        raise ValueError(f"{origin}: not a valid Triton ModelConfig: {exc}") from None
    return config


def valid_version_name(name: str) -> bool:
    """Triton ignores version directories that are not a positive integer without a leading zero."""
    return name.isdigit() and not name.startswith("0")


def _required_files(config: Any) -> tuple[str, ...]:
    if config.default_model_filename:
        return (config.default_model_filename,)
    if config.platform in PLATFORM_FILES:
        return PLATFORM_FILES[config.platform]
    return BACKEND_FILES.get(config.backend, ())


def _subdirs(path: Path, prefix: str, exclude) -> list[str]:
    """Names of the directories in path that the filters keep."""
    if not path.is_dir():
        return []
    return sorted(p.name for p in path.iterdir() if p.is_dir() and not is_excluded(prefix + p.name, exclude))


def _validate_model(model: str, root: Path, files: dict[str, LocalFile], exclude, problems: list[str]) -> None:
    config_rel = f"{model}/{CONFIG_NAME}"
    config = None
    if config_rel not in files:
        problems.append(f"{model}: no {CONFIG_NAME}: every model directory needs one (the model's configuration)")
    else:
        try:
            config = parse_config(Path(files[config_rel].path).read_text(encoding="utf-8"), config_rel)
        except (ValueError, UnicodeDecodeError) as exc:
            problems.append(str(exc))
    if config is not None and config.name and config.name != model:
        problems.append(
            f"{config_rel}: name '{config.name}' does not match its directory '{model}': "
            "rename one of them (Triton requires them equal)"
        )
    # every version directory on disk, so an empty one is caught (a store keeps no empty directories)
    versions: dict[str, list[str]] = {name: [] for name in _subdirs(root / model, model + "/", exclude)}
    for relpath in files:
        parts = relpath.split("/")
        if len(parts) >= 3:
            versions.setdefault(parts[1], []).append("/".join(parts[2:]))
    for name in sorted(versions):
        if not valid_version_name(name):
            problems.append(
                f"{model}/{name}: version directory must be a positive integer without a leading zero "
                "(Triton ignores it otherwise): rename it, for example to 1"
            )
    is_ensemble = config is not None and config.platform == "ensemble"
    if not versions and not is_ensemble:
        problems.append(f"{model}: no version directory: put the model files in {model}/1/")
    if config is None or is_ensemble:
        return
    needed = _required_files(config)
    what = f"platform '{config.platform}'" if config.platform else f"backend '{config.backend}'"
    if not config.platform and not config.backend:
        needed, what = KNOWN_MODEL_FILES, "no platform or backend (Triton infers it from the model file)"
    for name in sorted(v for v in versions if valid_version_name(v)):
        contents = versions[name]
        if not contents:
            problems.append(f"{model}/{name}: version directory is empty: add the model file or remove it")
        elif needed and not any(c == n or c.startswith(n + "/") for c in contents for n in needed):
            problems.append(
                f"{model}/{name}: {what} needs {' or '.join(needed)} in the version directory; found "
                f"{', '.join(sorted(contents))}"
            )
    policy = config.version_policy
    if policy.WhichOneof("policy_choice") == "specific":
        for version in policy.specific.versions:
            if str(version) not in versions:
                problems.append(
                    f"{config_rel}: version_policy names version {version}, but {model}/{version}/ is absent"
                )


def validate(files: dict[str, LocalFile], root: str | Path, exclude=DEFAULT_EXCLUDE, include=()) -> list[str]:
    """Check Triton's layout rules over the scanned files; raise with every problem found.

    Without include patterns every model directory on disk counts (an empty one is a problem);
    with them, only the models that have an included file."""
    root = Path(root)
    on_disk = [] if include else _subdirs(root, "", exclude)
    models: dict[str, dict[str, LocalFile]] = {name: {} for name in on_disk}
    for relpath, local in files.items():
        if "/" in relpath:
            models.setdefault(relpath.split("/", 1)[0], {})[relpath] = local
    problems: list[str] = []
    if not models:
        problems.append(f"{root}: no model directories found: expected <model>/{CONFIG_NAME} and <model>/1/<files>")
    for model in sorted(models):
        _validate_model(model, root, models[model], exclude, problems)
    if problems:
        raise InvalidModelRepository(
            f"model repository {root} is not valid; nothing was published:\n- " + "\n- ".join(problems),
            problems=problems,
        )
    return sorted(models)
