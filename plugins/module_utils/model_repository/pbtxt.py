# Copyright: edgeai.inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Render a model configuration given as a mapping (YAML variables) to config.pbtxt text.

Pure and dependency-free: the same mapping always gives the same text, so a role
that writes it only when the content differs never churns. The output is protobuf
text format for Triton's ``inference.ModelConfig``; :func:`check_rendered` parses it
back with that schema (through :mod:`layout`) when tritonclient is installed.

The keys Triton users write most get help: data types without ``TYPE_``, ``kind: cpu``,
``version_policy: latest``, ``parameters`` as a plain mapping, ``reshape`` as a list,
``dynamic_batching: true``. Any other ModelConfig field is rendered generically
(mappings as messages, lists as repeated fields, ``ALL_CAPS`` strings as enum values)
and left for the schema to judge.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Any

from ansible_collections.edgeai.inference.plugins.module_utils.model_repository import layout

DATA_TYPES = (
    "BOOL",
    "UINT8",
    "UINT16",
    "UINT32",
    "UINT64",
    "INT8",
    "INT16",
    "INT32",
    "INT64",
    "FP16",
    "FP32",
    "FP64",
    "STRING",
    "BF16",
)
# KServe/tritonclient names for the same types
DATA_TYPE_ALIASES = {"BYTES": "STRING"}
INSTANCE_KINDS = ("KIND_AUTO", "KIND_GPU", "KIND_CPU", "KIND_MODEL")
TENSOR_FORMATS = ("FORMAT_NONE", "FORMAT_NHWC", "FORMAT_NCHW")
POLICY_WORDS = ("latest", "all")

_ENUM_VALUE = re.compile(r"^[A-Z][A-Z0-9_]*$")
_FIELD_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# ModelConfig's map fields (below the top level): a mapping given for one becomes key/value entries
MAP_FIELDS = ("inputs", "input_map", "output_map", "cc_model_filenames", "metric_tags", "parameters")

# Known top-level fields, in the order they are written (the rest follow in the given order).
_TOP_ORDER = (
    "name",
    "platform",
    "backend",
    "runtime",
    "default_model_filename",
    "max_batch_size",
    "version_policy",
    "input",
    "output",
    "batch_input",
    "batch_output",
    "dynamic_batching",
    "sequence_batching",
    "ensemble_scheduling",
    "instance_group",
    "optimization",
    "parameters",
)


class ConfigMappingError(ValueError):
    """The mapping cannot become a valid config.pbtxt; the message says where and how to fix it."""


class Enum(str):
    """A protobuf enum constant: written without quotes."""


def _fail(origin: str, where: str, why: str) -> None:
    raise ConfigMappingError(f"{origin}.{where}: {why}" if where else f"{origin}: {why}")


def _integer(value: Any, origin: str, where: str, minimum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, str) and re.fullmatch(r"-?[0-9]+", value.strip()):
            value = int(value)
        else:
            _fail(origin, where, f"{value!r} is not an integer")
    if minimum is not None and value < minimum:
        _fail(origin, where, f"{value} is below {minimum}")
    return value


def _int_list(value: Any, origin: str, where: str, minimum: int | None = None) -> list[int]:
    if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
        _fail(origin, where, f"{value!r} is not a list of integers, for example [3, 224, 224]")
    return [_integer(v, origin, f"{where}[{i}]", minimum) for i, v in enumerate(value)]


def data_type(value: Any, origin: str = "config", where: str = "data_type") -> Enum:
    """TYPE_FP32 from FP32, fp32, TYPE_FP32 (or BYTES, tritonclient's name for STRING)."""
    text = str(value).strip().upper() if isinstance(value, str) else ""
    text = text.removeprefix("TYPE_")
    text = DATA_TYPE_ALIASES.get(text, text)
    if text not in DATA_TYPES:
        _fail(
            origin,
            where,
            f"{value!r} is not a Triton data type: use one of {', '.join(DATA_TYPES)} (TYPE_ prefix optional)",
        )
    return Enum("TYPE_" + text)


def _choice(value: Any, prefix: str, choices: tuple[str, ...], origin: str, where: str) -> Enum:
    text = value.strip().upper() if isinstance(value, str) else ""
    if text and not text.startswith(prefix):
        text = prefix + text
    if text not in choices:
        _fail(origin, where, f"{value!r} is not one of {', '.join(choices)} (prefix {prefix} optional)")
    return Enum(text)


def _tensor(item: Any, origin: str, where: str, is_input: bool) -> dict[str, Any]:
    if not isinstance(item, Mapping):
        _fail(origin, where, f"each tensor is a mapping with name, data_type and dims, not {item!r}")
    for key in ("name", "data_type", "dims"):
        if key not in item or item[key] is None or item[key] == "":
            _fail(origin, where, f"'{key}' is missing: every tensor needs name, data_type and dims")
    label = f"{where}({item['name']})"
    tensor: dict[str, Any] = {"name": str(item["name"]), "data_type": data_type(item["data_type"], origin, label)}
    if "format" in item:
        tensor["format"] = _choice(item["format"], "FORMAT_", TENSOR_FORMATS, origin, f"{label}.format")
    # -1 is a variable-size dimension
    tensor["dims"] = _int_list(item["dims"], origin, f"{label}.dims", minimum=-1)
    if item.get("reshape") is not None:
        reshape = item["reshape"]
        shape = reshape.get("shape") if isinstance(reshape, Mapping) else reshape
        tensor["reshape"] = {"shape": _int_list(shape, origin, f"{label}.reshape", minimum=-1)}
    for key, value in item.items():
        if key not in ("name", "data_type", "format", "dims", "reshape"):
            tensor[key] = _generic(value, origin, f"{label}.{key}")
    if not is_input and "optional" in tensor:
        _fail(origin, f"{label}.optional", "only inputs can be optional")
    return tensor


def _tensors(value: Any, origin: str, key: str) -> list[dict[str, Any]]:
    if isinstance(value, Mapping) or not isinstance(value, (list, tuple)) or not value:
        example = "[{name: INPUT0, data_type: FP32, dims: [1]}]"
        _fail(origin, key, f"a non-empty list of tensors is needed, for example {example}")
    tensors = [_tensor(item, origin, f"{key}[{i}]", key == "input") for i, item in enumerate(value)]
    names = [t["name"] for t in tensors]
    if len(set(names)) != len(names):
        _fail(origin, key, f"tensor names repeat ({', '.join(names)}): each must be unique")
    return tensors


def _version_policy(value: Any, origin: str) -> dict[str, Any]:
    where = "version_policy"
    if isinstance(value, str) and value.strip().lower() in POLICY_WORDS:
        word = value.strip().lower()
        return {"latest": {"num_versions": 1}} if word == "latest" else {"all": {}}
    if isinstance(value, Mapping) and len(value) == 1:
        [(kind, body)] = value.items()
        if kind == "all":
            return {"all": {}}
        if kind == "latest":
            count = body.get("num_versions", 1) if isinstance(body, Mapping) else body
            return {"latest": {"num_versions": _integer(count, origin, f"{where}.latest", minimum=1)}}
        if kind == "specific":
            versions = body.get("versions") if isinstance(body, Mapping) else body
            if not versions:
                _fail(origin, f"{where}.specific", "name at least one version, for example [1, 2]")
            return {"specific": {"versions": _int_list(versions, origin, f"{where}.specific", minimum=1)}}
    _fail(
        origin,
        where,
        f"{value!r} is not a version policy: use latest, all, {{latest: {{num_versions: N}}}} "
        "or {specific: {versions: [1, 2]}}",
    )
    return {}


def _parameter_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (Mapping, list, tuple)):
        return json.dumps(value, sort_keys=True, separators=(",", ":"))
    return str(value)


def _parameters(value: Any, origin: str) -> list[dict[str, Any]]:
    """A plain mapping {weight: 2.0} (or Triton's own [{key, value: {string_value}}] list)."""
    if isinstance(value, Mapping):
        pairs = [(str(k), v) for k, v in value.items()]
    elif isinstance(value, (list, tuple)) and all(isinstance(p, Mapping) and "key" in p for p in value):
        pairs = []
        for p in value:
            inner = p.get("value")
            pairs.append((str(p["key"]), inner.get("string_value") if isinstance(inner, Mapping) else inner))
    else:
        _fail(origin, "parameters", f"{value!r} is not a mapping of names to values, for example {{weight: 2.0}}")
    for key, _value in pairs:
        if not key:
            _fail(origin, "parameters", "a parameter has an empty name")
    return [{"key": key, "value": {"string_value": _parameter_value(v)}} for key, v in pairs]


def _instance_groups(value: Any, origin: str) -> list[dict[str, Any]]:
    if isinstance(value, Mapping):
        value = [value]
    if not isinstance(value, (list, tuple)) or not value:
        _fail(origin, "instance_group", f"{value!r} is not a list of groups, for example [{{count: 1, kind: cpu}}]")
    groups = []
    for i, item in enumerate(value):
        where = f"instance_group[{i}]"
        if not isinstance(item, Mapping):
            _fail(origin, where, f"{item!r} is not a mapping with count and kind")
        group: dict[str, Any] = {}
        for key, body in item.items():
            if key == "kind":
                group["kind"] = _choice(body, "KIND_", INSTANCE_KINDS, origin, f"{where}.kind")
            elif key == "count":
                group["count"] = _integer(body, origin, f"{where}.count", minimum=1)
            elif key == "gpus":
                gpus = body if isinstance(body, (list, tuple)) else [body]
                group["gpus"] = _int_list(gpus, origin, f"{where}.gpus", minimum=0)
            else:
                group[key] = _generic(body, origin, f"{where}.{key}")
        groups.append(group)
    return groups


def _dynamic_batching(value: Any, origin: str) -> dict[str, Any]:
    if value is True or value is None:
        return {}
    if not isinstance(value, Mapping):
        _fail(origin, "dynamic_batching", f"{value!r} is not true or a mapping (preferred_batch_size, ...)")
    batching: dict[str, Any] = {}
    for key, body in value.items():
        where = f"dynamic_batching.{key}"
        if key == "preferred_batch_size":
            batching[key] = _int_list(body if isinstance(body, (list, tuple)) else [body], origin, where, 1)
        elif key == "max_queue_delay_microseconds":
            batching[key] = _integer(body, origin, where, minimum=0)
        else:
            batching[key] = _generic(body, origin, where)
    return batching


def _generic(value: Any, origin: str, where: str) -> Any:
    """Any other field: the schema check judges it."""
    field = where.rsplit(".", 1)[-1]
    if isinstance(value, Mapping) and field in MAP_FIELDS:
        return [{"key": str(k), "value": _generic(v, origin, f"{where}.{k}")} for k, v in value.items()]
    if isinstance(value, Mapping):
        out = {}
        for key, body in value.items():
            if not isinstance(key, str) or not _FIELD_NAME.match(key):
                _fail(origin, f"{where}.{key}", "is not a protobuf field name")
            out[key] = _generic(body, origin, f"{where}.{key}")
        return out
    if isinstance(value, (list, tuple)):
        return [_generic(v, origin, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, float) and not math.isfinite(value):
        _fail(origin, where, f"{value!r} is not a finite number")
    if value is None:
        _fail(origin, where, "has no value: remove the key or give it one")
    if isinstance(value, str) and _ENUM_VALUE.match(value):
        return Enum(value)
    return value


def normalize(config: Any, name: str, origin: str = "config") -> dict[str, Any]:
    """The mapping checked and brought to ModelConfig's own shape (ready to write)."""
    if not isinstance(config, Mapping):
        _fail(origin, "", f"{type(config).__name__} given: the configuration is a mapping (or 'keep')")
    if not name or not isinstance(name, str):
        _fail(origin, "name", "the model needs a name (its directory in the repository)")
    given = dict(config)
    if "name" in given and str(given["name"]) != name:
        _fail(origin, "name", f"'{given['name']}' differs from the model's name '{name}': drop it or make them equal")
    given.pop("name", None)
    for key in given:
        if not isinstance(key, str) or not _FIELD_NAME.match(key):
            _fail(origin, str(key), "is not a ModelConfig field name")
    if not given.get("platform") and not given.get("backend"):
        _fail(
            origin,
            "",
            "set platform (tensorrt_plan, tensorflow_graphdef, tensorflow_savedmodel, onnxruntime_onnx, "
            "pytorch_libtorch, ensemble) or backend (python, onnxruntime, pytorch, tensorflow, tensorrt, openvino)",
        )
    out: dict[str, Any] = {"name": name}
    for key in ("platform", "backend", "runtime", "default_model_filename"):
        if given.get(key) is not None:
            if not isinstance(given[key], str):
                _fail(origin, key, f"{given[key]!r} is not a string")
            out[key] = given[key]
    if "max_batch_size" in given:
        out["max_batch_size"] = _integer(given["max_batch_size"], origin, "max_batch_size", minimum=0)
    if given.get("version_policy") is not None:
        out["version_policy"] = _version_policy(given["version_policy"], origin)
    for key in ("input", "output"):
        if key in given:
            out[key] = _tensors(given[key], origin, key)
    if given.get("dynamic_batching") not in (None, False):
        out["dynamic_batching"] = _dynamic_batching(given["dynamic_batching"], origin)
    if given.get("instance_group") is not None:
        out["instance_group"] = _instance_groups(given["instance_group"], origin)
    if given.get("parameters"):
        out["parameters"] = _parameters(given["parameters"], origin)
    handled = {"platform", "backend", "runtime", "default_model_filename", "max_batch_size", "version_policy"}
    handled |= {"input", "output", "dynamic_batching", "instance_group", "parameters"}
    for key, body in given.items():
        if key not in handled:
            out[key] = _generic(body, origin, key)
    order = {key: i for i, key in enumerate(_TOP_ORDER)}
    return dict(sorted(out.items(), key=lambda kv: order.get(kv[0], len(order))))


def _scalar(value: Any) -> str:
    if isinstance(value, Enum):
        return str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    text = str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{text}"'


def _emit(key: str, value: Any, indent: int, lines: list[str]) -> None:
    pad = "  " * indent
    if isinstance(value, Mapping):
        if not value:
            lines.append(f"{pad}{key} {{ }}")
            return
        lines.append(f"{pad}{key} {{")
        for k, v in value.items():
            _emit(k, v, indent + 1, lines)
        lines.append(f"{pad}}}")
    elif isinstance(value, list):
        if value and all(isinstance(v, Mapping) for v in value):
            lines.append(f"{pad}{key} [")
            for i, item in enumerate(value):
                lines.append(f"{pad}  {{")
                for k, v in item.items():
                    _emit(k, v, indent + 2, lines)
                lines.append(f"{pad}  }}" + ("," if i < len(value) - 1 else ""))
            lines.append(f"{pad}]")
        else:
            lines.append(f"{pad}{key}: [ {', '.join(_scalar(v) for v in value)} ]" if value else f"{pad}{key}: [ ]")
    else:
        lines.append(f"{pad}{key}: {_scalar(value)}")


def render(config: Any, name: str, origin: str = "config", header: str = "") -> str:
    """config.pbtxt text for the mapping; ConfigMappingError names the field and the fix."""
    normalized = normalize(config, name, origin)
    lines = [f"# {line}".rstrip() for line in header.splitlines()] if header else []
    for key, value in normalized.items():
        _emit(key, value, 0, lines)
    return "\n".join(lines) + "\n"


def check_rendered(text: str, name: str, origin: str = "config") -> None:
    """Parse the text with Triton's ModelConfig schema, when tritonclient is installed (it is on a
    controller that validates); a field the schema does not know fails here, naming the model."""
    if not layout.HAS_MODEL_CONFIG:
        return
    try:
        layout.parse_config(text, f"{name}/config.pbtxt")
    except ValueError as exc:
        problem = str(exc).rstrip(".")
        raise ConfigMappingError(f"{origin}: the rendered {problem}: fix that field of the mapping") from None
