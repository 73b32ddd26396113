"""Pure logic of the inference probe: generated inputs, request bodies, output checks, statistics."""

from __future__ import annotations

import threading
import time

import pytest

from ansible_collections.edgeai.inference.plugins.module_utils.errors import TritonError, TritonUnreachable
from ansible_collections.edgeai.inference.plugins.module_utils.triton.client import ModelState, model_path
from ansible_collections.edgeai.inference.plugins.module_utils.triton.inference import (
    DEFAULT_TOLERANCE,
    batch_of,
    check_counts,
    compare_outputs,
    complete_inputs,
    default_grpc_url,
    describe_inputs,
    generate_inputs,
    grpc_error,
    http_request_body,
    latency_stats,
    model_problem,
    outputs_from_http,
    outputs_from_numpy,
    percentile,
    run_requests,
    sample_values,
    to_numpy,
)

# Metadata as Triton reports it for the lab models (a batching model's shape starts with -1).
LINEAR = {
    "name": "linear",
    "inputs": [{"name": "INPUT0", "datatype": "FP32", "shape": [-1, 1]}],
    "outputs": [{"name": "OUTPUT0", "datatype": "FP32", "shape": [-1, 1]}],
}
TEXT = {
    "name": "tokenize",
    "inputs": [
        {"name": "TEXT", "datatype": "BYTES", "shape": ["-1", "2"]},  # gRPC's JSON has int64 as strings
        {"name": "MASK", "datatype": "BOOL", "shape": ["-1", "-1", "3"]},
        {"name": "IDS", "datatype": "INT64", "shape": ["-1", "4"]},
    ],
}


# --- generated inputs -------------------------------------------------------------------------


def test_batching_model_gets_the_batch_dimension_and_halves():
    assert generate_inputs(LINEAR, max_batch_size=8, batch_size=4) == [
        {"name": "INPUT0", "datatype": "FP32", "shape": [4, 1], "data": [0.0, 0.5, 1.0, 1.5]}
    ]


def test_default_batch_is_one():
    assert generate_inputs(LINEAR, max_batch_size=8)[0]["shape"] == [1, 1]


def test_non_batching_model_keeps_its_shape_with_every_minus_one_set_to_one():
    tensors = generate_inputs(TEXT, max_batch_size=0, batch_size=5)
    assert [(t["name"], t["shape"]) for t in tensors] == [("TEXT", [1, 2]), ("MASK", [1, 1, 3]), ("IDS", [1, 4])]
    assert tensors[0]["data"] == ["edgeai-0", "edgeai-1"]
    assert tensors[1]["data"] == [True, False, True]
    assert tensors[2]["data"] == [0, 1, 2, 3]


def test_batching_model_with_variable_dims_and_bytes():
    text, mask, ids = generate_inputs(TEXT, max_batch_size=4, batch_size=2)
    assert text == {"name": "TEXT", "datatype": "BYTES", "shape": [2, 2], "data": [f"edgeai-{i}" for i in range(4)]}
    assert mask["shape"] == [2, 1, 3]
    assert ids["shape"] == [2, 4] and ids["data"] == list(range(8))


def test_integer_values_stay_small_for_every_width():
    assert max(sample_values("UINT8", 100)) == 7
    assert sample_values("FP16", 10) == [0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 0.0, 0.5]


def test_batch_size_above_the_models_limit_is_refused():
    with pytest.raises(TritonError, match="batch_size 9 exceeds the max_batch_size 8 of model 'linear'"):
        generate_inputs(LINEAR, max_batch_size=8, batch_size=9)


def test_unknown_datatype_asks_for_inputs():
    with pytest.raises(TritonError, match="cannot generate values of datatype 'FP8'"):
        generate_inputs({"name": "m", "inputs": [{"name": "X", "datatype": "FP8", "shape": [2]}]}, 0)


def test_model_without_inputs_asks_for_inputs():
    with pytest.raises(TritonError, match="declares no inputs"):
        generate_inputs({"name": "m", "inputs": []}, 0)


# --- given inputs -----------------------------------------------------------------------------


def test_given_inputs_are_flattened_and_take_the_models_datatype():
    given = [{"name": "INPUT0", "datatype": None, "shape": [3, 1], "data": [[1], [2], [-3.5]]}]
    assert complete_inputs(given, LINEAR) == [
        {"name": "INPUT0", "datatype": "FP32", "shape": [3, 1], "data": [1, 2, -3.5]}
    ]


def test_given_datatype_wins_and_names_are_left_to_triton():
    given = [{"name": "WRONG", "datatype": "int32", "shape": [2], "data": [1, 2]}]
    assert complete_inputs(given, LINEAR)[0]["datatype"] == "INT32"


def test_data_that_does_not_fill_the_shape_is_refused():
    given = [{"name": "INPUT0", "datatype": "FP32", "shape": [2, 2], "data": [1, 2, 3]}]
    with pytest.raises(TritonError, match=r"input 'INPUT0' has 3 values, but its shape \[2, 2\] holds 4"):
        complete_inputs(given, LINEAR)


def test_unknown_input_without_datatype_lists_what_the_model_takes():
    given = [{"name": "X", "datatype": None, "shape": [1, 1], "data": [1]}]
    with pytest.raises(TritonError, match=r"takes INPUT0 \(FP32, shape \[-1,1\]\)"):
        complete_inputs(given, LINEAR)


def test_batch_of_counts_inferences_as_perf_analyzer():
    tensors = [{"name": "INPUT0", "datatype": "FP32", "shape": [3, 1], "data": [1, 2, 3]}]
    assert batch_of(tensors, max_batch_size=8) == 3
    assert batch_of(tensors, max_batch_size=0) == 1


def test_describe_inputs_explains_the_batch_dimension():
    assert describe_inputs(LINEAR, 8) == (
        "model 'linear' takes INPUT0 (FP32, shape [-1,1]); -1 is any size, "
        "and the first dimension is the batch (max_batch_size 8)"
    )
    assert describe_inputs(LINEAR, 0).endswith("-1 is any size")


# --- request and response ---------------------------------------------------------------------


def test_http_request_body_is_kserve_json_with_bytes_as_strings():
    tensors = [
        {"name": "INPUT0", "datatype": "FP32", "shape": [2, 1], "data": [1.5, -2]},
        {"name": "TEXT", "datatype": "BYTES", "shape": [3], "data": ["a", b"b", 7]},
    ]
    assert http_request_body(tensors) == {
        "inputs": [
            {"name": "INPUT0", "datatype": "FP32", "shape": [2, 1], "data": [1.5, -2]},
            {"name": "TEXT", "datatype": "BYTES", "shape": [3], "data": ["a", "b", "7"]},
        ]
    }


def test_outputs_from_http_flatten_nested_data():
    payload = {
        "model_name": "labels",
        "outputs": [{"name": "CLASS", "datatype": "INT32", "shape": [2, 1], "data": [[0], [2]]}],
    }
    assert outputs_from_http(payload) == [{"name": "CLASS", "datatype": "INT32", "shape": [2, 1], "data": [0, 2]}]


def test_model_path_quotes_name_and_version():
    assert model_path("linear") == "/v2/models/linear"
    assert model_path("a b/c", "2") == "/v2/models/a%20b%2Fc/versions/2"


# --- expected outputs -------------------------------------------------------------------------

OUTPUTS = [
    {"name": "OUTPUT0", "datatype": "FP32", "shape": [3, 1], "data": [3.0, 5.0, 1.2000000476837158]},
    {"name": "LABEL", "datatype": "BYTES", "shape": [2, 1], "data": ["setosa", "virginica"]},
    {"name": "CLASS", "datatype": "INT32", "shape": [2, 1], "data": [0, 2]},
]


def test_matching_outputs_have_no_problems():
    expected = [
        {"name": "OUTPUT0", "data": [[3], [5], [1.2]], "tolerance": None},  # FP32 1.2 within the default
        {"name": "LABEL", "data": ["setosa", "virginica"], "tolerance": None},
        {"name": "CLASS", "data": [0, 2]},
    ]
    assert compare_outputs(expected, OUTPUTS) == []


def test_numbers_outside_the_tolerance_show_expected_and_got():
    problems = compare_outputs([{"name": "OUTPUT0", "data": [3, 5.2, 1.2], "tolerance": 0.1}], OUTPUTS)
    assert problems == [
        "output 'OUTPUT0' (FP32): expected [3, 5.2, 1.2], got [3.0, 5.0, 1.2000000476837158] "
        "(1 of 3 values differ within 0.1, first at index 1)"
    ]


def test_tolerance_is_absolute_and_inclusive():
    assert compare_outputs([{"name": "OUTPUT0", "data": [3.25, 5, 1.2], "tolerance": 0.25}], OUTPUTS) == []
    assert compare_outputs([{"name": "OUTPUT0", "data": [3.26, 5, 1.2], "tolerance": 0.25}], OUTPUTS)


def test_default_tolerance_is_tight():
    assert DEFAULT_TOLERANCE == 1e-5
    assert compare_outputs([{"name": "OUTPUT0", "data": [3.0001, 5, 1.2]}], OUTPUTS)


def test_bytes_compare_exactly():
    problems = compare_outputs([{"name": "LABEL", "data": ["setosa", "Virginica"], "tolerance": 100}], OUTPUTS)
    assert problems == [
        "output 'LABEL' (BYTES): expected ['setosa', 'Virginica'], got ['setosa', 'virginica'] "
        "(1 of 2 values differ exactly, first at index 1)"
    ]


def test_missing_output_and_wrong_length():
    problems = compare_outputs([{"name": "SCORES", "data": [1]}, {"name": "CLASS", "data": [0, 2, 1]}], OUTPUTS)
    assert problems == [
        "output 'SCORES' is not in the response (it has: CLASS, LABEL, OUTPUT0)",
        "output 'CLASS': expected 3 values [0, 2, 1], got 2 values [0, 2]",
    ]


def test_nan_matches_only_nan():
    outputs = [{"name": "Y", "datatype": "FP64", "shape": [2], "data": [float("nan"), 1.0]}]
    assert compare_outputs([{"name": "Y", "data": [float("nan"), 1.0]}], outputs) == []
    assert compare_outputs([{"name": "Y", "data": [0.0, 1.0], "tolerance": 1e9}], outputs)


def test_long_tensors_are_shortened_in_messages():
    outputs = [{"name": "Y", "datatype": "INT32", "shape": [40], "data": list(range(40))}]
    (problem,) = compare_outputs([{"name": "Y", "data": [0] * 40}], outputs)
    assert "got [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, ...]" in problem
    assert "39 of 40 values differ" in problem


# --- statistics -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "percent", "expected"),
    [
        # The nearest-rank example on Wikipedia's "Percentile" page.
        ([15, 20, 35, 40, 50], 30, 20),
        ([15, 20, 35, 40, 50], 40, 20),
        ([15, 20, 35, 40, 50], 50, 35),
        ([15, 20, 35, 40, 50], 100, 50),
        (list(range(1, 101)), 99, 99),
        (list(range(1, 21)), 95, 19),
        (list(range(1, 11)), 90, 9),
        (list(range(1, 11)), 99, 10),
        (list(range(1, 11)), 50, 5),
        ([7], 50, 7),
        ([7], 99, 7),
        ([], 50, 0),
    ],
)
def test_nearest_rank_percentile(values, percent, expected):
    assert percentile(values, percent) == expected


def test_latency_stats_in_usec_under_perf_analyzer_names():
    latencies_ns = [i * 1000 + 999 for i in range(1, 11)]  # whole microseconds 1..10, the rest dropped
    stats = latency_stats(latencies_ns, elapsed_ns=2_000_000_000, inferences_per_request=3)
    assert stats == {
        "throughput_infer_per_sec": 15.0,  # 10 requests x 3 inferences / 2 s
        "avg_latency_usec": 6,  # mean of 1..10 = 5.5, rounded half to even
        "p50_latency_usec": 5,
        "p90_latency_usec": 9,
        "p95_latency_usec": 10,
        "p99_latency_usec": 10,
    }


def test_latency_stats_without_successes_are_zero():
    stats = latency_stats([], elapsed_ns=1000)
    assert stats["throughput_infer_per_sec"] == 0.0 and stats["p99_latency_usec"] == 0


# --- the request runner -----------------------------------------------------------------------


def test_runner_keeps_concurrency_in_flight_and_counts_failures():
    lock = threading.Lock()
    in_flight = peak = calls = 0

    def send():
        nonlocal in_flight, peak, calls
        with lock:
            in_flight += 1
            peak = max(peak, in_flight)
            calls += 1
            number = calls
        time.sleep(0.02)
        with lock:
            in_flight -= 1
        if number % 4 == 0:
            raise TritonError(f"refused #{number}")
        return {"outputs": [], "model_version": "1"}

    run = run_requests(send, requests=12, concurrency=3)
    assert calls == 12 and peak == 3
    assert len(run.responses) == 9 and len(run.latencies_ns) == 9
    assert sorted(run.errors) == ["refused #12", "refused #4", "refused #8"]
    assert all(latency >= 20_000_000 for latency in run.latencies_ns)
    # 12 requests of 20 ms, 3 at a time: about 80 ms, far below the 240 ms of one at a time.
    assert 80_000_000 <= run.elapsed_ns < 200_000_000


@pytest.mark.parametrize(
    ("requests", "concurrency", "warmup", "batch_size"), [(0, 1, 0, 1), (1, 0, 0, 1), (1, 1, -1, 1), (1, 1, 0, 0)]
)
def test_counts_below_their_minimum_are_refused(requests, concurrency, warmup, batch_size):
    with pytest.raises(TritonError, match="must be at least 1"):
        check_counts(requests, concurrency, warmup, batch_size)


# --- model problems from the repository index -------------------------------------------------


class IndexOnly:
    """A backend whose only answer is a repository index (what model_problem reads)."""

    endpoint = "http://triton:8000"

    def __init__(self, index):
        self._index = index

    def index(self):
        return self._index


INDEX = [
    ModelState("linear", "1", "READY", ""),
    ModelState("broken", "1", "UNAVAILABLE", "RuntimeError: refuses to load"),
    ModelState("labels", "", "", ""),
]
REFUSED = TritonError("Triton answered 400: Request for unknown model")


def test_absent_model_lists_the_repository():
    problem = model_problem(IndexOnly(INDEX), "lineer", None, REFUSED)
    assert str(problem) == (
        "model 'lineer' is not in the model repository of Triton at http://triton:8000; the repository has: "
        "broken, labels, linear. Check the model name (its directory in the repository)."
    )
    assert problem.details["available_models"] == ["broken", "labels", "linear"]


def test_missing_version_lists_the_versions():
    assert "has no version 3 on Triton at http://triton:8000 (versions: 1)" in str(
        model_problem(IndexOnly(INDEX), "linear", "3", REFUSED)
    )


def test_unready_model_carries_the_reason_and_the_fix():
    problem = str(model_problem(IndexOnly(INDEX), "broken", None, REFUSED))
    assert "version 1 is UNAVAILABLE: RuntimeError: refuses to load" in problem
    assert "Load it first (edgeai.inference.triton_model)" in problem


def test_unreachable_is_not_explained_by_the_index():
    unreachable = TritonUnreachable("no answer")
    assert model_problem(IndexOnly(INDEX), "linear", None, unreachable) is unreachable


# --- gRPC -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "grpc_url"),
    [
        ("http://triton.example:8000", "triton.example:8001"),
        ("https://10.0.0.5:30800/", "10.0.0.5:8001"),
        ("http://[::1]:8000", "[::1]:8001"),
    ],
)
def test_default_grpc_url_takes_the_host_of_url(url, grpc_url):
    assert default_grpc_url(url) == grpc_url


def test_grpc_errors_map_to_the_collections_errors():
    utils = pytest.importorskip("tritonclient.utils")
    unavailable = grpc_error(
        utils.InferenceServerException("failed to connect", status="StatusCode.UNAVAILABLE"), "h:1", "x", 2
    )
    assert isinstance(unavailable, TritonUnreachable) and "Check grpc_url" in str(unavailable)
    late = grpc_error(
        utils.InferenceServerException("Deadline Exceeded", status="StatusCode.DEADLINE_EXCEEDED"), "h:1", "x", 2
    )
    assert isinstance(late, TritonUnreachable) and "within 2s (timed out)" in str(late)
    refused = grpc_error(
        utils.InferenceServerException("unexpected shape", status="StatusCode.INVALID_ARGUMENT"), "h:1", "x", 2, "m"
    )
    assert isinstance(refused, TritonError) and not isinstance(refused, TritonUnreachable)
    assert str(refused) == "Triton at h:1 (gRPC) refused x (StatusCode.INVALID_ARGUMENT): unexpected shape"
    assert refused.details["error"] == "unexpected shape"


def test_numpy_round_trip_of_bytes_and_numbers():
    np = pytest.importorskip("numpy")
    text = to_numpy({"name": "T", "datatype": "BYTES", "shape": [2, 1], "data": ["setosa", 7]})
    assert text.dtype == np.object_ and text.shape == (2, 1) and text.flatten().tolist() == [b"setosa", b"7"]
    numbers = to_numpy({"name": "X", "datatype": "FP16", "shape": [1, 2], "data": [0.5, 1]})
    assert numbers.dtype == np.float16 and numbers.shape == (1, 2)
    outputs = outputs_from_numpy(
        [
            {"name": "LABEL", "datatype": "BYTES", "shape": ["2", "1"]},
            {"name": "X", "datatype": "FP16", "shape": [1, 2]},
        ],
        {"LABEL": text, "X": numbers},
    )
    assert outputs == [
        {"name": "LABEL", "datatype": "BYTES", "shape": [2, 1], "data": ["setosa", "7"]},
        {"name": "X", "datatype": "FP16", "shape": [1, 2], "data": [0.5, 1.0]},
    ]


def test_numpy_refuses_data_that_does_not_fit_the_datatype():
    pytest.importorskip("numpy")
    with pytest.raises(TritonError, match="input 'X': data does not fit FP32"):
        to_numpy({"name": "X", "datatype": "FP32", "shape": [1], "data": ["abc"]})
