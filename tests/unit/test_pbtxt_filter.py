"""config.pbtxt from a mapping (edgeai.inference.triton_config_pbtxt) and the model_repository role's
model list (model_repository_entries/_files/_stale): rendering, round trip through Triton's ModelConfig
schema, and the errors an operator sees."""

from __future__ import annotations

import re

import pytest
import yaml
from ansible.errors import AnsibleFilterError
from google.protobuf import json_format

from ansible_collections.edgeai.inference.plugins.filter.triton_config_pbtxt import FilterModule
from ansible_collections.edgeai.inference.plugins.module_utils.model_repository import entries, layout, pbtxt
from tests.labenv import REPO_ROOT

ROLE = REPO_ROOT / "roles" / "model_repository"
EXAMPLES = yaml.safe_load((ROLE / "vars" / "main.yml").read_text())["_model_repository_examples"]
FILTERS = FilterModule().filters()
SHA = "ab" * 32


def parsed(text: str) -> dict:
    """The rendered text through Triton's own schema, as a plain dict."""
    return json_format.MessageToDict(layout.parse_config(text, "test"), preserving_proto_field_name=True)


def full_config() -> dict:
    return {
        "platform": "onnxruntime_onnx",
        "max_batch_size": 8,
        "input": [
            {"name": "data_0", "data_type": "FP32", "format": "NCHW", "dims": [3, 224, 224]},
            {"name": "mask", "data_type": "TYPE_BOOL", "dims": [-1], "optional": True},
        ],
        "output": [
            {"name": "fc6_1", "data_type": "fp16", "dims": [1000], "reshape": [1000, 1, 1], "label_filename": "l.txt"},
            {"name": "names", "data_type": "BYTES", "dims": [1], "reshape": {"shape": [1]}},
        ],
        "dynamic_batching": {"preferred_batch_size": [4, 8], "max_queue_delay_microseconds": 100},
        "instance_group": [{"count": 2, "kind": "gpu", "gpus": [0, 1]}, {"kind": "KIND_CPU"}],
        "version_policy": {"specific": {"versions": [1, 3]}},
        "parameters": {"weight": 2.5, "flag": True, "table": [1, 2]},
        "model_warmup": [{"name": "w", "batch_size": 1, "inputs": {"data_0": {"data_type": "TYPE_FP32", "dims": [3]}}}],
    }


def test_round_trip_through_model_config():
    config = parsed(pbtxt.render(full_config(), "densenet"))
    assert config["name"] == "densenet" and config["platform"] == "onnxruntime_onnx"
    assert config["max_batch_size"] == 8
    first, second = config["input"]
    assert first == {"name": "data_0", "data_type": "TYPE_FP32", "format": "FORMAT_NCHW", "dims": ["3", "224", "224"]}
    assert second["data_type"] == "TYPE_BOOL" and second["dims"] == ["-1"] and second["optional"] is True
    assert config["output"][0]["data_type"] == "TYPE_FP16"
    assert config["output"][0]["reshape"] == {"shape": ["1000", "1", "1"]}
    assert config["output"][0]["label_filename"] == "l.txt"
    assert config["output"][1]["data_type"] == "TYPE_STRING"
    assert config["dynamic_batching"] == {"preferred_batch_size": [4, 8], "max_queue_delay_microseconds": "100"}
    assert config["instance_group"] == [{"count": 2, "kind": "KIND_GPU", "gpus": [0, 1]}, {"kind": "KIND_CPU"}]
    assert config["version_policy"] == {"specific": {"versions": ["1", "3"]}}
    assert config["parameters"] == {
        "weight": {"string_value": "2.5"},
        "flag": {"string_value": "true"},
        "table": {"string_value": "[1,2]"},
    }
    assert config["model_warmup"][0]["inputs"]["data_0"]["dims"] == ["3"]


def test_rendering_is_stable_and_headed():
    text = pbtxt.render(full_config(), "densenet", header="line one\nline two")
    assert text == pbtxt.render(full_config(), "densenet", header="line one\nline two")
    assert text.startswith('# line one\n# line two\nname: "densenet"\n') and text.endswith("]\n")
    assert parsed(text)["name"] == "densenet"


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        ("latest", {"latest": {"num_versions": 1}}),
        ("all", {"all": {}}),
        ({"latest": {"num_versions": 2}}, {"latest": {"num_versions": 2}}),
        ({"latest": 3}, {"latest": {"num_versions": 3}}),
        ({"specific": [2]}, {"specific": {"versions": ["2"]}}),
    ],
)
def test_version_policies(policy, expected):
    config = parsed(pbtxt.render({"backend": "python", "version_policy": policy}, "m"))
    assert config["version_policy"] == expected


def test_strings_are_escaped():
    text = pbtxt.render({"backend": "python", "parameters": {"q": 'say "hi"\\now'}}, "m")
    assert parsed(text)["parameters"]["q"]["string_value"] == 'say "hi"\\now'


def test_role_examples_match_the_lab_models_interface():
    """The role's generated examples serve the same tensors as lab/models (the lab's tests rely on them)."""
    for name in ("linear", "labels"):
        rendered = parsed(pbtxt.render(EXAMPLES[name]["config"], name))
        lab = parsed((REPO_ROOT / "lab" / "models" / name / "config.pbtxt").read_text())
        for key in ("name", "backend", "max_batch_size", "input", "output", "instance_group"):
            assert rendered[key] == lab[key], (name, key)
    linear = parsed(pbtxt.render(EXAMPLES["linear"]["config"], "linear"))
    assert linear["parameters"] == {"weight": {"string_value": "2.0"}, "bias": {"string_value": "1.0"}}


def readme_models() -> list[dict]:
    blocks = re.findall(r"```yaml\n(.*?)```", (ROLE / "README.md").read_text(), re.DOTALL)
    models = []
    for block in blocks:
        loaded = yaml.safe_load(block)
        if isinstance(loaded, dict) and "model_repository_models" in loaded:
            models.extend(loaded["model_repository_models"])
    return models


def test_readme_entries_are_valid():
    """The README's lab and tutorial entries pass the role's checks and Triton's schema."""
    models = readme_models()
    names = [m["name"] for m in models]
    assert {"linear", "labels", "inception_graphdef", "densenet_onnx", "resnet50_libtorch"} <= set(names)
    platforms = {}
    for model in models:
        model = {**model, "sha256": SHA} if "url" in model else model
        platforms[model["name"]] = parsed(entries.entries([model], EXAMPLES)[0]["config_text"])
    assert all(config["name"] == name for name, config in platforms.items())
    assert platforms["inception_graphdef"]["platform"] == "tensorflow_graphdef"
    assert platforms["densenet_onnx"]["platform"] == "onnxruntime_onnx"
    assert platforms["resnet50_libtorch"]["platform"] == "pytorch_libtorch"


def test_filter_plugin_renders_and_checks():
    text = FILTERS["triton_config_pbtxt"]({"backend": "python"}, "m")
    assert parsed(text) == {"name": "m", "backend": "python"}
    with pytest.raises(AnsibleFilterError, match=r"config\.input\[0\]\(x\): 'FP33' is not a Triton data type"):
        FILTERS["triton_config_pbtxt"](
            {"backend": "python", "input": [{"name": "x", "data_type": "FP33", "dims": [1]}]}, "m"
        )


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"backend": "python", "input": [{"name": "x", "data_type": "FLOAT", "dims": [1]}]}, "'FLOAT' is not a Triton"),
        ({"backend": "python", "input": [{"name": "x", "data_type": "FP32"}]}, "'dims' is missing"),
        ({"backend": "python", "output": [{"data_type": "FP32", "dims": [1]}]}, "output[0]: 'name' is missing"),
        ({"backend": "python", "input": [{"name": "x", "data_type": "FP32", "dims": "3"}]}, "not a list of integers"),
        ({"backend": "python", "input": [{"name": "x", "data_type": "FP32", "dims": [-2]}]}, "-2 is below -1"),
        ({"backend": "python", "input": []}, "a non-empty list of tensors"),
        (
            {"backend": "python", "input": [{"name": "x", "data_type": "FP32", "dims": [1]}] * 2},
            "tensor names repeat",
        ),
        ({"max_batch_size": 1}, "set platform"),
        ({"backend": "python", "max_batch_size": -1}, "max_batch_size: -1 is below 0"),
        ({"backend": "python", "max_batch_size": "many"}, "'many' is not an integer"),
        ({"backend": "python", "version_policy": "newest"}, "is not a version policy"),
        ({"backend": "python", "instance_group": [{"kind": "tpu"}]}, "'tpu' is not one of KIND_AUTO"),
        ({"backend": "python", "name": "other"}, "differs from the model's name 'm'"),
        ({"backend": "python", "parameters": "weight=2"}, "not a mapping of names to values"),
        (
            {"backend": "python", "output": [{"name": "y", "data_type": "FP32", "dims": [1], "optional": True}]},
            "only inputs",
        ),
        ("backend: python", "the configuration is a mapping"),
    ],
)
def test_bad_mappings_fail_with_the_field_and_fix(config, message):
    with pytest.raises(pbtxt.ConfigMappingError) as caught:
        pbtxt.render(config, "m", "model_repository_models[0] (m).config")
    assert str(caught.value).startswith("model_repository_models[0] (m).config")
    assert message in str(caught.value)


def test_fields_the_schema_does_not_know_fail_the_check():
    text = pbtxt.render({"backend": "python", "max_batch": 4}, "m")
    with pytest.raises(
        pbtxt.ConfigMappingError, match=r'm/config\.pbtxt: not a valid Triton ModelConfig: .*"max_batch"'
    ):
        pbtxt.check_rendered(text, "m", "model_repository_models[0] (m).config")


# --- the model list --------------------------------------------------------------------------


def entry_error(models) -> str:
    with pytest.raises(AnsibleFilterError) as caught:
        FILTERS["model_repository_entries"](models, EXAMPLES)
    return str(caught.value)


@pytest.mark.parametrize(
    ("models", "message"),
    [
        ([{"name": "a", "git": "x"}], "model_repository_models[0] (a): give exactly one source"),
        ([{"name": "a", "src": "/x", "example": "linear"}], "found src, example"),
        ([{"name": "a", "src": "/x", "sha265": SHA}], "unknown key(s) sha265 for a src model"),
        (
            [{"name": "a", "url": "http://h/m.onnx", "config": {"backend": "onnxruntime"}}],
            "(a).sha256: a url needs the sha256",
        ),
        ([{"name": "a", "url": "http://h/m.onnx", "sha256": "12"}], "64 hex digits"),
        ([{"name": "a", "url": "http://h/m.onnx", "sha256": SHA}], "a single file from a url has no config.pbtxt"),
        ([{"name": "a", "url": "gopher://h/m.tgz", "sha256": SHA}], "not an http(s), ftp or file URL"),
        ([{"name": "a", "example": "resnet"}], "use one of labels, linear"),
        ([{"name": "a/b", "example": "linear"}], "is not a model name"),
        ([{"example": "linear"}], "model_repository_models[0].name"),
        ([{"name": "a", "example": "linear", "version": 0}], "not a positive integer"),
        (
            [{"name": "a", "example": "linear"}, {"name": "a", "example": "labels"}],
            "taken by model_repository_models[0]",
        ),
        ([{"name": "a", "example": "linear", "parameters": [1]}], "(a).parameters: give a mapping"),
        (
            [
                {"name": "ok", "example": "linear"},
                {"name": "a", "src": "/x", "config": {"backend": "python", "x": None}},
            ],
            "model_repository_models[1] (a).config.x: has no value",
        ),
        ({"name": "a"}, "give a list of models"),
    ],
)
def test_bad_items_name_the_item_key_and_fix(models, message):
    assert message in entry_error(models)


def test_entries_and_files():
    models = [
        {"name": "linear", "example": "linear", "parameters": {"weight": 4}, "version": "2"},
        {"name": "labels", "example": "labels", "labels": ["a", "b", "c"]},
        {"name": "own", "src": "/models/own/"},
        {"name": "mixed", "src": "/models/mixed", "config": {"backend": "python"}},
        {
            "name": "onnx",
            "url": "https://h/x/densenet.onnx?sig=1",
            "sha256": SHA.upper(),
            "filename": "model.onnx",
            "config": {"platform": "onnxruntime_onnx"},
        },
        {"name": "packed", "url": "https://h/p.tar.gz", "sha256": "sha256:" + SHA},
        {"name": "flat", "url": "https://h/f.zip", "sha256": SHA, "unpack_into": "version", "config": "keep"},
    ]
    checked = FILTERS["model_repository_entries"](models, EXAMPLES)
    by_name = {e["name"]: e for e in checked}
    assert by_name["linear"]["version"] == 2
    assert parsed(by_name["linear"]["config_text"])["parameters"]["weight"] == {"string_value": "4"}
    assert parsed(by_name["linear"]["config_text"])["parameters"]["bias"] == {"string_value": "1.0"}
    assert by_name["own"]["config_text"] is None and by_name["own"]["src"] == "/models/own"
    assert by_name["onnx"]["sha256"] == SHA and by_name["onnx"]["archive"] is False
    assert by_name["onnx"]["cache_file"] == f"{SHA[:16]}-densenet.onnx"
    assert by_name["packed"]["archive"] is True and by_name["packed"]["sha256"] == SHA

    found = [
        {
            "item": by_name["own"],
            "files": [
                {"path": "/models/own/config.pbtxt"},
                {"path": "/models/own/1/model.py"},
                {"path": "/models/own/1/__pycache__/model.cpython-311.pyc"},
            ],
        },
        {"item": by_name["mixed"], "files": [{"path": "/models/mixed/config.pbtxt"}, {"path": "/models/mixed/3/m.py"}]},
    ]
    plan = FILTERS["model_repository_files"](checked, found)
    assert plan["expected"] == [
        "labels/1/model.py",
        "labels/config.pbtxt",
        "labels/labels.txt",
        "linear/2/model.py",
        "linear/config.pbtxt",
        "mixed/3/m.py",
        "mixed/config.pbtxt",
        "onnx/1/model.onnx",
        "onnx/config.pbtxt",
        "own/1/model.py",
        "own/config.pbtxt",
    ]
    assert "packed/config.pbtxt" not in plan["expected"], "an archive keeps its own config"
    assert "mixed/config.pbtxt" in [c["rel"] for c in plan["contents"]], "the rendered config wins"
    assert {"src": "/models/mixed/config.pbtxt", "rel": "mixed/config.pbtxt", "name": "mixed"} not in plan["copies"]
    assert not any("__pycache__" in c["rel"] for c in plan["copies"])
    assert {"content": "a\nb\nc\n", "rel": "labels/labels.txt", "name": "labels"} in plan["contents"]
    assert plan["archives"] == [
        {"cache_file": f"{SHA[:16]}-p.tar.gz", "rel": "packed", "name": "packed"},
        {"cache_file": f"{SHA[:16]}-f.zip", "rel": "flat/1", "name": "flat"},
    ]
    assert plan["downloads"] == [
        {"cache_file": f"{SHA[:16]}-densenet.onnx", "rel": "onnx/1/model.onnx", "name": "onnx"}
    ]
    assert plan["dirs"][:3] == ["flat", "labels", "linear"] and "flat/1" in plan["dirs"] and "linear/2" in plan["dirs"]


def test_stale_paths():
    present = [
        "linear",
        "linear/1",
        "linear/1/model.py",
        "linear/2",
        "linear/2/model.py",
        "linear/config.pbtxt",
        "gone",
        "gone/1",
        "gone/1/x",
        "packed",
        "packed/1",
        "packed/1/a",
        "packed/1/old",
        ".hidden",
    ]
    expected = ["linear/2/model.py", "linear/config.pbtxt"]
    stale = FILTERS["model_repository_stale"](present, expected, {"packed": ["1/", "1/a", "./"]})
    assert stale == [".hidden", "gone", "linear/1", "packed/1/old"]
    assert FILTERS["model_repository_stale"](["a", "a/x"], ["a/x"]) == []
