# Copyright: edgeai.inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The model_repository role's model list, checked and planned (pure functions for its filters).

:func:`entries` turns ``model_repository_models`` into one entry per model with its
source kind and its rendered config.pbtxt, failing on the first bad item with a
message that names the item, the key and the fix. :func:`files` turns the entries
and what the role found in each ``src`` directory into the files and directories
the build directory holds; :func:`stale` says what else is there and must go.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from ansible_collections.edgeai.inference.plugins.module_utils.model_repository import pbtxt

VARIABLE = "model_repository_models"
SOURCES = ("src", "url", "example")
COMMON_KEYS = {"name", "version", "config"}
SOURCE_KEYS = {
    "src": {"src"},
    "url": {"url", "sha256", "filename", "archive", "unpack_into"},
    "example": {"example", "parameters", "labels"},
}
ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar", ".zip")
UNPACK_INTO = ("model", "version")
HEADER = "Rendered by edgeai.inference.model_repository from model_repository_models: edit the variable, not this file."

_MODEL_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class ModelListError(ValueError):
    """An item of model_repository_models is wrong; the message names it, the key and the fix."""


def _where(index: int, item: Any) -> str:
    name = item.get("name") if isinstance(item, Mapping) else None
    return f"{VARIABLE}[{index}]" + (f" ({name})" if name else "")


def _url_basename(url: str) -> str:
    return posixpath.basename(urlsplit(url).path)


def _config_text(item: Mapping, name: str, where: str, base: Mapping | None) -> str | None:
    """None keeps the source's own config.pbtxt; otherwise the rendered text (schema-checked)."""
    config = item.get("config")
    if config is None or config == "keep":
        if base is None:
            return None
        config = {}
    elif not isinstance(config, Mapping):
        raise ModelListError(f"{where}.config: {config!r} is neither 'keep' nor a mapping of config.pbtxt fields")
    merged = {**(base or {}), **config}
    if base is not None and item.get("parameters") is not None:
        if not isinstance(item["parameters"], Mapping):
            raise ModelListError(f"{where}.parameters: give a mapping, for example {{weight: 3.0}}")
        merged["parameters"] = {**(merged.get("parameters") or {}), **item["parameters"]}
    origin = f"{where}.config"
    text = pbtxt.render(merged, name, origin, header=HEADER)
    pbtxt.check_rendered(text, name, origin)
    return text


def _entry(index: int, item: Any, examples: Mapping) -> dict[str, Any]:
    where = _where(index, item)
    if not isinstance(item, Mapping):
        raise ModelListError(f"{where}: {item!r} is not a mapping: give name and one of src, url or example")
    name = item.get("name")
    if not isinstance(name, str) or not _MODEL_NAME.match(name):
        raise ModelListError(
            f"{where}.name: {name!r} is not a model name: use letters, digits, '_', '-' or '.' (it is the "
            "model's directory and the name clients call)"
        )
    kinds = [kind for kind in SOURCES if item.get(kind) not in (None, "")]
    if len(kinds) != 1:
        found = ", ".join(kinds) if kinds else "none"
        raise ModelListError(
            f"{where}: give exactly one source, src (a local directory), url (with sha256) or example "
            f"({', '.join(sorted(examples))}); found {found}"
        )
    kind = kinds[0]
    allowed = COMMON_KEYS | SOURCE_KEYS[kind]
    unknown = sorted(str(k) for k in item if k not in allowed)
    if unknown:
        raise ModelListError(
            f"{where}: unknown key(s) {', '.join(unknown)} for a {kind} model: the keys are "
            f"{', '.join(sorted(allowed))}"
        )
    version = item.get("version", 1)
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        if isinstance(version, str) and version.isdigit() and not version.startswith("0"):
            version = int(version)
        else:
            raise ModelListError(f"{where}.version: {version!r} is not a positive integer (Triton's version directory)")
    entry: dict[str, Any] = {"name": name, "index": index, "origin": where, "kind": kind, "version": version}
    base = None
    if kind == "src":
        entry["src"] = str(item["src"]).rstrip("/") or "/"
    elif kind == "url":
        url = str(item["url"])
        if urlsplit(url).scheme not in ("http", "https", "file", "ftp"):
            raise ModelListError(f"{where}.url: {url!r} is not an http(s), ftp or file URL")
        sha256 = str(item.get("sha256") or "").strip().lower().removeprefix("sha256:")
        if not _SHA256.match(sha256):
            raise ModelListError(
                f"{where}.sha256: a url needs the sha256 of the file it names (64 hex digits, `sha256sum FILE`); "
                f"got {item.get('sha256')!r}"
            )
        filename = str(item.get("filename") or _url_basename(url))
        if not filename or "/" in filename or filename.startswith("."):
            raise ModelListError(f"{where}.filename: give the file's name in the version directory, e.g. model.onnx")
        archive = item.get("archive")
        if archive is None:
            archive = _url_basename(url).lower().endswith(ARCHIVE_SUFFIXES)
        unpack_into = item.get("unpack_into", "model")
        if unpack_into not in UNPACK_INTO:
            raise ModelListError(
                f"{where}.unpack_into: {unpack_into!r}: use model (the archive holds <version>/... and maybe "
                "config.pbtxt) or version (it holds the version directory's files)"
            )
        entry.update(
            url=url,
            sha256=sha256,
            filename=filename,
            archive=bool(archive),
            unpack_into=unpack_into,
            cache_file=f"{sha256[:16]}-{_url_basename(url) or filename}",
        )
        if not archive and item.get("config") in (None, "keep"):
            raise ModelListError(
                f"{where}.config: a single file from a url has no config.pbtxt beside it: give config as a "
                "mapping (platform, max_batch_size, input, output, ...)"
            )
    else:
        example = item["example"]
        if example not in examples:
            raise ModelListError(
                f"{where}.example: {example!r} is not an example the role generates: use one of "
                f"{', '.join(sorted(examples))}"
            )
        definition = examples[example]
        base = definition.get("config") or {}
        labels = item.get("labels", definition.get("labels", []))
        if not isinstance(labels, list) or not all(isinstance(x, str) and x.strip() for x in labels):
            raise ModelListError(f"{where}.labels: give a list of class names, for example [setosa, versicolor]")
        entry.update(example=example, labels=labels)
        entry["templates"] = [
            {"template": template, "rel": rel.replace("{version}", str(version))}
            for rel, template in sorted(definition.get("files", {}).items())
        ]
    entry["config_text"] = _config_text(item, name, where, base)
    return entry


def entries(models: Any, examples: Mapping | None = None) -> list[dict[str, Any]]:
    """One checked entry per model (see the module docstring); raises ModelListError."""
    examples = examples or {}
    if models is None:
        models = []
    if isinstance(models, (str, Mapping)) or not isinstance(models, (list, tuple)):
        raise ModelListError(f"{VARIABLE}: give a list of models, each a mapping with name and a source")
    out = [_entry(i, item, examples) for i, item in enumerate(models)]
    seen: dict[str, str] = {}
    for entry in out:
        if entry["name"] in seen:
            raise ModelListError(
                f"{entry['origin']}: the name {entry['name']!r} is taken by {seen[entry['name']]}: model names are "
                "directory names and must be unique"
            )
        seen[entry["name"]] = entry["origin"]
    return out


def _parents(rel: str) -> list[str]:
    parts = rel.split("/")[:-1]
    return ["/".join(parts[: i + 1]) for i in range(len(parts))]


def _found_files(found: Any) -> dict[str, list[str]]:
    """A mapping name -> relative paths, or the registered results of ansible.builtin.find looped
    over the src entries (item.name, item.src, files[].path); caches and bytecode are left out."""
    if isinstance(found, Mapping):
        return {str(k): list(v) for k, v in found.items()}
    out: dict[str, list[str]] = {}
    for result in found or []:
        src = result["item"]["src"]
        rels = [posixpath.relpath(f["path"], src) for f in result.get("files", [])]
        out[result["item"]["name"]] = sorted(
            rel for rel in rels if "__pycache__" not in rel.split("/") and not rel.endswith(".pyc")
        )
    return out


def files(model_entries: list[Mapping], found: Any = None) -> dict[str, Any]:
    """What the build directory holds before archives are unpacked.

    ``found``: each src model's files relative to its src directory (see :func:`_found_files`).
    Returns ``copies`` (src path -> rel), ``templates``, ``contents`` (rel -> text: configs and
    label files), ``downloads`` (single files: cache name -> rel), ``archives`` (cache name -> rel
    of the directory to unpack into), ``dirs`` (every directory to create, parents first) and
    ``expected`` (every rel path)."""
    found = _found_files(found)
    copies, templates, contents, downloads, archives = [], [], [], [], []
    for entry in model_entries:
        name, version = entry["name"], entry["version"]
        if entry["config_text"] is not None:
            contents.append({"rel": f"{name}/config.pbtxt", "content": entry["config_text"], "name": name})
        if entry.get("labels"):
            contents.append({"rel": f"{name}/labels.txt", "content": "\n".join(entry["labels"]) + "\n", "name": name})
        if entry["kind"] == "src":
            listed = found.get(name, [])
            for rel in sorted(listed):
                if rel == "config.pbtxt" and entry["config_text"] is not None:
                    continue  # the rendered one wins
                copies.append({"src": f"{entry['src']}/{rel}", "rel": f"{name}/{rel}", "name": name})
        elif entry["kind"] == "example":
            templates.extend({**t, "rel": f"{name}/{t['rel']}", "name": name} for t in entry["templates"])
        elif entry["archive"]:
            into = name if entry["unpack_into"] == "model" else f"{name}/{version}"
            archives.append({"cache_file": entry["cache_file"], "rel": into, "name": name})
        else:
            rel = f"{name}/{version}/{entry['filename']}"
            downloads.append({"cache_file": entry["cache_file"], "rel": rel, "name": name})
    expected = sorted({x["rel"] for x in copies + templates + contents + downloads})
    dirs = {d for rel in expected for d in _parents(rel)}
    # an archive unpacks into its directory: that directory and its parents
    dirs |= {d for a in archives for d in [*_parents(a["rel"]), a["rel"]]}
    return {
        "copies": copies,
        "templates": templates,
        "contents": contents,
        "downloads": downloads,
        "archives": archives,
        "dirs": sorted(dirs, key=lambda d: (d.count("/"), d)),
        "expected": expected,
    }


def stale(present: list[str], expected: list[str], unpacked: Mapping[str, list[str]] | None = None) -> list[str]:
    """Paths (relative, files and directories) present in the build directory that nothing put there.

    ``unpacked`` maps an archive's target directory (rel) to the member names it unpacked; a
    directory counts as expected when an expected file lies below it. Only the topmost stale path
    of a subtree is returned, so removing it removes the rest."""
    keep = set(expected)
    for into, members in (unpacked or {}).items():
        keep.add(into)
        keep.update(f"{into}/{m.rstrip('/')}" for m in members if m.strip("/") not in ("", "."))
    keep_dirs = {d for rel in keep for d in _parents(rel + "/x")}
    out: list[str] = []
    for rel in sorted(present):
        if rel in keep or rel in keep_dirs:
            continue
        if any(rel.startswith(s + "/") for s in out):
            continue
        out.append(rel)
    return out
