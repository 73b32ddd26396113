"""Pure logic of the Triton client: required-model specs and readiness reasons."""

from __future__ import annotations

import pytest

from ansible_collections.edgeai.inference.plugins.module_utils.errors import TritonError
from ansible_collections.edgeai.inference.plugins.module_utils.triton.client import (
    ModelState,
    TritonClient,
    parse_required,
    unready_required,
)

INDEX = [
    ModelState("linear", "1", "READY", ""),
    ModelState("linear", "2", "UNAVAILABLE", "unloaded"),
    ModelState("broken", "1", "UNAVAILABLE", "RuntimeError: refuses to load"),
    ModelState("labels", "", "", ""),
]


@pytest.mark.parametrize(("spec", "parsed"), [("linear", ("linear", None)), ("linear:2", ("linear", "2"))])
def test_parse_required(spec, parsed):
    assert parse_required(spec) == parsed


@pytest.mark.parametrize("spec", ["", ":1", "linear:", "linear:v2"])
def test_parse_required_rejects(spec):
    with pytest.raises(TritonError, match="NAME or NAME:VERSION"):
        parse_required(spec)


def test_all_ready_means_no_problems():
    assert unready_required(INDEX, ["linear", "linear:1"]) == []


def test_each_problem_carries_the_servers_reason():
    problems = unready_required(INDEX, ["linear:2", "broken", "labels", "missing", "linear:7"])
    assert problems == [
        "linear:2 is UNAVAILABLE: unloaded",
        "broken:1 is UNAVAILABLE: RuntimeError: refuses to load",
        "labels is not loaded: no reason given",
        "'missing' is not in the model repository",
        "version 7 of 'linear' is not in the model repository",
    ]


def test_url_must_name_a_scheme():
    with pytest.raises(TritonError, match="must start with http:// or https://"):
        TritonClient("triton:8000")
