"""triton_inference_check, run by Ansible against the lab's real Triton over HTTP and gRPC."""

from __future__ import annotations

import socket

import pytest

from tests.support import ports
from tests.support.ansible import run_module

pytestmark = pytest.mark.lab

GRPC_URL = f"127.0.0.1:{ports.TRITON['shared'][1]}"
LINEAR_INPUTS = [{"name": "INPUT0", "datatype": "FP32", "shape": [3, 1], "data": [1, 2, -3.5]}]
LINEAR_EXPECTED = [{"name": "OUTPUT0", "data": [3, 5, -6]}]
PROTOCOLS = ["http", "grpc"]


def check(url: str, protocol: str = "http", check_mode: bool = False, **args) -> dict:
    """Run the module against the lab Triton over one protocol."""
    params = {"url": url, "protocol": protocol, **args}
    if protocol == "grpc":
        params.setdefault("grpc_url", GRPC_URL)
    return run_module("triton_inference_check", params, check_mode=check_mode)


def assert_stats(result: dict, requests: int, concurrency: int, batch_size: int) -> None:
    assert result["request_count"] == requests and result["failures"] == 0, result
    assert result["concurrency"] == concurrency and result["batch_size"] == batch_size, result
    assert result["errors"] == [] and result["mismatched_responses"] == 0, result
    p50, p90, p95, p99 = (result[f"p{p}_latency_usec"] for p in (50, 90, 95, 99))
    assert 0 < p50 <= p90 <= p95 <= p99, result
    assert 0 < result["avg_latency_usec"] <= p99, result
    # Every request ran inside the measured phase, so the phase lasts at least the slowest request.
    assert result["duration_sec"] * 1e6 >= p99, result
    throughput = requests * batch_size / result["duration_sec"]
    assert result["throughput_infer_per_sec"] == pytest.approx(throughput, rel=0.01), result


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_given_inputs_give_the_expected_outputs_with_stats(triton, protocol):
    result = check(
        triton,
        protocol,
        model="linear",
        inputs=LINEAR_INPUTS,
        expected_outputs=LINEAR_EXPECTED,
        requests=24,
        concurrency=4,
    )
    assert not result.get("failed"), result
    assert result["changed"] is False
    assert result["protocol"] == protocol
    assert result["endpoint"] == (GRPC_URL if protocol == "grpc" else triton)
    assert result["model"] == "linear" and result["model_version"] == "1"
    assert result["outputs"] == [{"name": "OUTPUT0", "datatype": "FP32", "shape": [3, 1], "data": [3.0, 5.0, -6.0]}]
    assert_stats(result, requests=24, concurrency=4, batch_size=3)


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_inputs_generated_from_the_models_metadata(triton, protocol):
    result = check(triton, protocol, model="linear", batch_size=4, requests=5, concurrency=2, warmup=0)
    assert not result.get("failed"), result
    assert result["inputs"] == [{"name": "INPUT0", "datatype": "FP32", "shape": [4, 1], "data": [0.0, 0.5, 1.0, 1.5]}]
    # y = 2x + 1 of the generated values
    assert result["outputs"][0]["shape"] == [4, 1]
    assert result["outputs"][0]["data"] == [1.0, 2.0, 3.0, 4.0]
    assert_stats(result, requests=5, concurrency=2, batch_size=4)


def test_check_mode_runs_the_probe_and_changes_nothing(triton):
    result = check(
        triton, check_mode=True, model="linear", inputs=LINEAR_INPUTS, expected_outputs=LINEAR_EXPECTED, requests=3
    )
    assert not result.get("failed"), result
    assert result["changed"] is False
    assert result["outputs"][0]["data"] == [3.0, 5.0, -6.0]
    assert_stats(result, requests=3, concurrency=1, batch_size=3)


def test_tolerance_accepts_close_numbers(triton):
    expected = [{"name": "OUTPUT0", "data": [[3.05], [4.95], [-6]], "tolerance": 0.1}]
    result = check(triton, model="linear", inputs=LINEAR_INPUTS, expected_outputs=expected, requests=2)
    assert not result.get("failed"), result


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_expected_mismatch_shows_expected_and_got(triton, protocol):
    expected = [{"name": "OUTPUT0", "data": [3, 5, -7]}]
    result = check(triton, protocol, model="linear", inputs=LINEAR_INPUTS, expected_outputs=expected, requests=4)
    assert result.get("failed") is True, result
    assert "answered other outputs than expected in 4 of 4 responses" in result["msg"], result["msg"]
    assert "output 'OUTPUT0' (FP32): expected [3, 5, -7], got [3.0, 5.0, -6.0]" in result["msg"], result["msg"]
    # The statistics of the run come with the failure.
    assert result["mismatched_responses"] == 4 and result["failures"] == 0, result
    assert result["p50_latency_usec"] > 0, result


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_unknown_model_names_the_models_of_the_repository(triton, protocol):
    result = check(triton, protocol, model="no_such_model")
    assert result.get("failed") is True, result
    assert "model 'no_such_model' is not in the model repository" in result["msg"], result["msg"]
    assert {"linear", "broken"} <= set(result["error"]["available_models"]), result
    assert "linear" in result["msg"] and "broken" in result["msg"], result["msg"]


def test_unknown_version_names_the_versions(triton):
    result = check(triton, model="linear", version="7")
    assert result.get("failed") is True, result
    assert "model 'linear' has no version 7" in result["msg"] and "(versions: 1)" in result["msg"], result["msg"]


def test_model_that_failed_to_load_fails_with_tritons_reason(triton):
    result = check(triton, model="broken")
    assert result.get("failed") is True, result
    assert "model 'broken' is not ready" in result["msg"], result["msg"]
    assert "refuses to load (on purpose)" in result["msg"], result["msg"]


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_wrong_shape_fails_with_tritons_reason_and_the_models_inputs(triton, protocol):
    inputs = [{"name": "INPUT0", "datatype": "FP32", "shape": [3], "data": [1, 2, -3.5]}]
    result = check(triton, protocol, model="linear", inputs=inputs)
    assert result.get("failed") is True, result
    assert "unexpected shape for input 'INPUT0' for model 'linear'. Expected [-1,1], got [3]" in result["msg"], result
    assert "takes INPUT0 (FP32, shape [-1,1])" in result["msg"], result["msg"]
    assert "first dimension is the batch (max_batch_size 8)" in result["msg"], result["msg"]


def test_wrong_input_name_counts_every_failed_request(triton):
    inputs = [{**LINEAR_INPUTS[0], "name": "INPUTX"}]
    result = check(triton, model="linear", inputs=inputs, warmup=0, requests=6, concurrency=2)
    assert result.get("failed") is True, result
    assert result["msg"].startswith("6 of 6 inference requests to model 'linear' failed"), result["msg"]
    assert "unexpected inference input 'INPUTX' for model 'linear'" in result["msg"], result["msg"]
    assert result["failures"] == 6 and len(result["errors"]) == 1, result


def test_labels_model_bytes_outputs_compare_exactly(triton):
    """The lab's classifier (4 features → LABEL bytes, CLASS int32), loaded for this test only."""
    loaded = run_module("triton_model", {"url": triton, "name": "labels"})
    assert not loaded.get("failed"), loaded
    try:
        inputs = [{"name": "INPUT0", "shape": [2, 4], "data": [[5.0, 3.4, 1.5, 0.2], [6.6, 3.0, 5.6, 2.0]]}]
        expected = [{"name": "LABEL", "data": ["setosa", "virginica"]}, {"name": "CLASS", "data": [0, 2]}]
        for protocol in PROTOCOLS:
            result = check(triton, protocol, model="labels", inputs=inputs, expected_outputs=expected, requests=4)
            assert not result.get("failed"), result
            assert result["inputs"][0]["datatype"] == "FP32", result  # taken from the model's metadata
            assert result["outputs"][0] == {
                "name": "LABEL",
                "datatype": "BYTES",
                "shape": [2, 1],
                "data": ["setosa", "virginica"],
            }

        wrong = [{"name": "LABEL", "data": ["setosa", "Virginica"], "tolerance": 1000}]
        result = check(triton, "grpc", model="labels", inputs=inputs, expected_outputs=wrong, requests=1)
        assert result.get("failed") is True, result
        assert "expected ['setosa', 'Virginica'], got ['setosa', 'virginica']" in result["msg"], result["msg"]

        generated = check(triton, "grpc", model="labels", batch_size=2, requests=2)
        assert not generated.get("failed"), generated
        assert generated["inputs"][0]["shape"] == [2, 4], generated
        assert [o["name"] for o in generated["outputs"]] == ["LABEL", "CLASS"], generated
    finally:
        unloaded = run_module("triton_model", {"url": triton, "name": "labels", "state": "unloaded"})
        assert not unloaded.get("failed"), unloaded


def test_unreachable_http_endpoint_names_the_cause_and_fix():
    result = check(f"http://127.0.0.1:{ports.CLOSED_PORT}", model="linear", timeout=2)
    assert result.get("failed") is True, result
    assert "did not answer GET /v2/models/linear" in result["msg"], result["msg"]
    assert "Check the URL and port" in result["msg"], result["msg"]


def test_unreachable_grpc_endpoint_names_the_cause_and_fix():
    result = check(
        f"http://127.0.0.1:{ports.TRITON['shared'][0]}",
        "grpc",
        grpc_url=f"127.0.0.1:{ports.CLOSED_PORT}",
        model="linear",
        timeout=2,
    )
    assert result.get("failed") is True, result
    assert f"Triton at 127.0.0.1:{ports.CLOSED_PORT} (gRPC) did not answer" in result["msg"], result["msg"]
    assert "Check grpc_url" in result["msg"], result["msg"]


@pytest.fixture
def silent_endpoint():
    """A port that accepts connections and never answers: a hung server, the way a timeout looks."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        yield f"127.0.0.1:{server.getsockname()[1]}"


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_timeout_names_the_cause_and_fix(silent_endpoint, protocol):
    url = f"http://{silent_endpoint}"
    result = check(url, protocol, grpc_url=silent_endpoint, model="linear", timeout=1)
    assert result.get("failed") is True, result
    assert "within 1s (timed out)" in result["msg"] and "Raise timeout" in result["msg"], result["msg"]
