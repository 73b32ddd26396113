#!/usr/bin/python
# Copyright: edgeai.inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Probe a Triton model with real inference requests: outputs, throughput, latency."""

from __future__ import annotations

DOCUMENTATION = r"""
module: triton_inference_check
short_description: Probe a model on a Triton Inference Server with real inference requests
version_added: 0.1.0
description:
  - Sends O(requests) inference requests to one model over HTTP/REST or gRPC, O(concurrency) at a time from a pool of
    threads, after O(warmup) requests that are not measured.
  - Inputs are O(inputs) as given, or generated from the model's metadata and configuration when O(inputs) is unset.
  - Checks the outputs of every response against O(expected_outputs) when given.
  - Reports the request count, failures, throughput and latency percentiles under the names perf_analyzer prints
    (C(Throughput), C(Avg latency), C(p50 latency) ... C(p99 latency)), with the outputs of the first response.
  - Fails naming the cause and the fix when the model is absent (listing the models of the repository) or not ready,
    when Triton refuses the inputs (with Triton's own reason and the inputs the model takes), when the server does not
    answer or answers too late, and when an output differs from the expected one (expected and got side by side).
  - Inference changes nothing on the server; the module reports C(changed=false) and runs the probe in check
    mode too.
author:
  - edgeai.inference maintainers (@edgeai)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - edgeai.inference.triton_connection
attributes:
  check_mode:
    support: full
    details: The probe runs in check mode as well; inference requests change nothing on the server.
  diff_mode:
    support: none
  platform:
    platforms: posix
notes:
  - O(url) is Triton's HTTP endpoint. With O(protocol=grpc) every call (metadata, repository index, inference) goes
    over gRPC to O(grpc_url), and O(url) only supplies the default host of O(grpc_url) and the choice of TLS.
  - O(timeout) bounds every call, each inference request included; over gRPC it is the call's deadline.
  - Latencies are measured around each request with C(time.perf_counter_ns) and reported in whole microseconds;
    percentiles use the nearest-rank method (the smallest latency with at least P% of latencies at or below it).
  - Throughput counts inferences as perf_analyzer does, the batch size times the successful requests, per second of
    the measured phase (from the first request sent to the last answer).
  - Over HTTP each request opens its own connection (as Ansible's URL helpers do), so latencies include the TCP (and
    TLS) handshake, which perf_analyzer's kept-alive connections do not; gRPC requests share one channel.
requirements:
  - tritonclient[grpc] (Python library) on the managed host, for O(protocol=grpc) only.
options:
  model:
    description:
      - Name of the model (its directory in the model repository).
    type: str
    required: true
  version:
    description:
      - Version of the model to probe. The server's choice (its version policy) when unset.
    type: str
  protocol:
    description:
      - V(http) probes through O(url); V(grpc) through O(grpc_url).
    type: str
    choices: [http, grpc]
    default: http
  grpc_url:
    description:
      - Triton's gRPC endpoint as C(HOST:PORT), for O(protocol=grpc).
      - Defaults to the host of O(url) with port C(8001), Triton's default gRPC port.
      - gRPC uses TLS when O(url) starts with C(https://), verifying the server with O(ca_path) (the system trust store
        when unset); O(validate_certs=false) is refused with gRPC over TLS.
    type: str
  inputs:
    description:
      - Input tensors of each request. When unset, generated from the model's metadata and configuration, see
        O(batch_size).
      - Generated inputs have every C(-1) dimension set to 1 and deterministic values of the input's datatype
        (C(0, 0.5, 1, ...) for floats, C(0, 1, 2, ...) for integers, alternating booleans, C(edgeai-0, edgeai-1, ...)
        for C(BYTES)).
    type: list
    elements: dict
    suboptions:
      name:
        description:
          - Name of the input tensor.
        type: str
        required: true
      datatype:
        description:
          - Triton datatype, for example C(FP32), C(INT64) or C(BYTES). The model's, from its metadata, when unset.
        type: str
      shape:
        description:
          - Shape of the tensor, the batch dimension first for a model with C(max_batch_size > 0).
        type: list
        elements: int
        required: true
      data:
        description:
          - Values in row-major order, flat or nested; C(BYTES) values as strings.
        type: list
        elements: raw
        required: true
  batch_size:
    description:
      - Batch dimension of generated inputs when the model batches (C(max_batch_size > 0)); not above the model's
        C(max_batch_size). Models that do not batch get no batch dimension.
    type: int
    default: 1
  expected_outputs:
    description:
      - Outputs every response must have. Numbers compare within an absolute O(expected_outputs[].tolerance);
        C(BYTES) outputs and strings compare exactly.
    type: list
    elements: dict
    suboptions:
      name:
        description:
          - Name of the output tensor.
        type: str
        required: true
      data:
        description:
          - Expected values in row-major order, flat or nested.
        type: list
        elements: raw
        required: true
      tolerance:
        description:
          - Largest absolute difference accepted between an expected and a returned number. FP32 holds about 7
            significant digits, so raise it for large values.
        type: float
        default: 0.00001
  requests:
    description:
      - Measured requests to send.
    type: int
    default: 10
  concurrency:
    description:
      - Requests in flight at once (threads of the pool).
    type: int
    default: 1
  warmup:
    description:
      - Requests sent one by one before the measured ones, not counted. A refused warmup request stops the probe
        with Triton's reason.
    type: int
    default: 1
"""

EXAMPLES = r"""
- name: Check that linear computes y = 2x + 1, 100 requests 4 at a time
  edgeai.inference.triton_inference_check:
    url: http://triton.example:8000
    model: linear
    inputs:
      - name: INPUT0
        datatype: FP32
        shape: [3, 1]
        data: [1, 2, -3.5]
    expected_outputs:
      - name: OUTPUT0
        data: [3, 5, -6]
    requests: 100
    concurrency: 4
  register: linear_probe

- name: Same over gRPC (port 8001 of the same host), inputs generated from the model's metadata
  edgeai.inference.triton_inference_check:
    url: http://triton.example:8000
    protocol: grpc
    model: labels
    batch_size: 8

- name: Show the latency percentiles
  ansible.builtin.debug:
    msg: "{{ linear_probe.throughput_infer_per_sec }} infer/sec, p99 {{ linear_probe.p99_latency_usec }} usec"
"""

RETURN = r"""
model:
  description: The model probed.
  returned: always
  type: str
  sample: linear
model_version:
  description: The version that answered the first measured request.
  returned: when requests ran
  type: str
  sample: "1"
protocol:
  description: The protocol used, V(http) or V(grpc).
  returned: always
  type: str
endpoint:
  description: The URL (http) or C(HOST:PORT) (grpc) probed.
  returned: always
  type: str
  sample: http://triton.example:8000
inputs:
  description: The input tensors of every request, as given or generated, data flattened.
  returned: when requests ran
  type: list
  elements: dict
  sample: [{"name": "INPUT0", "datatype": "FP32", "shape": [3, 1], "data": [1, 2, -3.5]}]
outputs:
  description: The output tensors of the first successful measured response, data flattened.
  returned: when requests ran
  type: list
  elements: dict
  sample: [{"name": "OUTPUT0", "datatype": "FP32", "shape": [3, 1], "data": [3.0, 5.0, -6.0]}]
request_count:
  description: Measured requests sent (warmup requests not counted).
  returned: when requests ran
  type: int
  sample: 100
failures:
  description: Measured requests that failed.
  returned: when requests ran
  type: int
  sample: 0
errors:
  description: The distinct error messages of failed requests (at most 10).
  returned: when requests ran
  type: list
  elements: str
mismatched_responses:
  description: Successful responses whose outputs differ from O(expected_outputs).
  returned: when requests ran
  type: int
  sample: 0
concurrency:
  description: Requests in flight at once.
  returned: when requests ran
  type: int
  sample: 4
batch_size:
  description: Inferences per request (the batch dimension of a batching model, else 1).
  returned: when requests ran
  type: int
  sample: 3
duration_sec:
  description: Seconds of the measured phase, from the first request sent to the last answer.
  returned: when requests ran
  type: float
  sample: 0.412
throughput_infer_per_sec:
  description: Inferences per second of the measured phase, perf_analyzer's C(Throughput) in C(infer/sec).
  returned: when requests ran
  type: float
  sample: 726.4
avg_latency_usec:
  description: Mean latency of the successful requests in microseconds, perf_analyzer's C(Avg latency).
  returned: when requests ran
  type: int
  sample: 5480
p50_latency_usec:
  description: Median (nearest-rank) latency in microseconds, perf_analyzer's C(p50 latency).
  returned: when requests ran
  type: int
  sample: 5213
p90_latency_usec:
  description: 90th percentile (nearest-rank) latency in microseconds, perf_analyzer's C(p90 latency).
  returned: when requests ran
  type: int
  sample: 6802
p95_latency_usec:
  description: 95th percentile (nearest-rank) latency in microseconds, perf_analyzer's C(p95 latency).
  returned: when requests ran
  type: int
  sample: 7311
p99_latency_usec:
  description: 99th percentile (nearest-rank) latency in microseconds, perf_analyzer's C(p99 latency).
  returned: when requests ran
  type: int
  sample: 9120
error:
  description: On failure, the error's class as C(type), C(url) and C(model), for a refused request its C(status) and
    Triton's own C(error) text, and when O(model) is not in the repository the C(available_models).
  returned: failure
  type: dict
  sample: {"type": "TritonError", "url": "http://triton.example:8000", "available_models": ["labels", "linear"]}
"""

from ansible_collections.edgeai.inference.plugins.module_utils.base import ModuleRun, Requirement, run_module
from ansible_collections.edgeai.inference.plugins.module_utils.errors import TritonError
from ansible_collections.edgeai.inference.plugins.module_utils.triton.client import (
    CONNECTION_ARGUMENT_SPEC,
    client_from_params,
)
from ansible_collections.edgeai.inference.plugins.module_utils.triton.inference import (
    DEFAULT_TOLERANCE,
    TRITONCLIENT_GRPC_IMPORT_ERROR,
    GrpcBackend,
    HttpBackend,
    default_grpc_url,
    probe,
)

ARGUMENT_SPEC = {
    **CONNECTION_ARGUMENT_SPEC,
    "model": {"type": "str", "required": True},
    "version": {"type": "str"},
    "protocol": {"type": "str", "choices": ["http", "grpc"], "default": "http"},
    "grpc_url": {"type": "str"},
    "inputs": {
        "type": "list",
        "elements": "dict",
        "options": {
            "name": {"type": "str", "required": True},
            "datatype": {"type": "str"},
            "shape": {"type": "list", "elements": "int", "required": True},
            "data": {"type": "list", "elements": "raw", "required": True},
        },
    },
    "batch_size": {"type": "int", "default": 1},
    "expected_outputs": {
        "type": "list",
        "elements": "dict",
        "options": {
            "name": {"type": "str", "required": True},
            "data": {"type": "list", "elements": "raw", "required": True},
            "tolerance": {"type": "float", "default": DEFAULT_TOLERANCE},
        },
    },
    "requests": {"type": "int", "default": 10},
    "concurrency": {"type": "int", "default": 1},
    "warmup": {"type": "int", "default": 1},
}


def uses_grpc(params: dict) -> bool:
    return params["protocol"] == "grpc"


def reconcile(run: ModuleRun) -> None:
    params, result = run.params, run.result
    # Inference changes nothing, so check mode runs the same probe.
    result.update(model=params["model"], protocol=params["protocol"])
    client = run.closing(client_from_params(params))
    if uses_grpc(params):
        tls = client.url.startswith("https://")
        if tls and not params["validate_certs"]:
            raise TritonError("validate_certs=false is not supported over gRPC: give the server's CA in ca_path")
        result["endpoint"] = params["grpc_url"] or default_grpc_url(client.url)
        backend = run.closing(
            GrpcBackend(result["endpoint"], params["timeout"], ssl=tls, root_certificates=params["ca_path"])
        )
    else:
        result["endpoint"] = client.url
        backend = HttpBackend(client)
    result.update(
        probe(
            backend,
            params["model"],
            version=params["version"],
            inputs=params["inputs"],
            expected=params["expected_outputs"],
            requests=params["requests"],
            concurrency=params["concurrency"],
            warmup=params["warmup"],
            batch_size=params["batch_size"],
        )
    )


def main() -> None:
    run_module(
        ARGUMENT_SPEC,
        reconcile,
        requirements=[Requirement("tritonclient[grpc]", TRITONCLIENT_GRPC_IMPORT_ERROR, needed=uses_grpc)],
        supports_check_mode=True,
    )


if __name__ == "__main__":
    main()
