# Copyright: edgeai.inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Inference probes against Triton over HTTP or gRPC.

Pure functions (inputs generated from a model's metadata, request bodies, output
comparison, nearest-rank latency statistics), two backends with one interface
(HTTP through TritonClient, gRPC through tritonclient.grpc when it is installed)
and probe(), which issues N requests from a pool of C threads.
"""

from __future__ import annotations

import math
import time
import traceback
import urllib.parse
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from ansible_collections.edgeai.inference.plugins.module_utils.errors import TritonError, TritonUnreachable
from ansible_collections.edgeai.inference.plugins.module_utils.triton.client import ModelState, TritonClient

try:
    import numpy as np
    import tritonclient.grpc as grpcclient
    from tritonclient.utils import InferenceServerException, triton_to_np_dtype
except ImportError:
    HAS_TRITONCLIENT_GRPC = False
    TRITONCLIENT_GRPC_IMPORT_ERROR = traceback.format_exc()
else:
    HAS_TRITONCLIENT_GRPC = True
    TRITONCLIENT_GRPC_IMPORT_ERROR = None

GRPC_DEFAULT_PORT = 8001
# perf_analyzer reports these percentiles; the result keys follow its names.
PERCENTILES = (50, 90, 95, 99)
DEFAULT_TOLERANCE = 1e-5
INTEGER_TYPES = frozenset(("INT8", "INT16", "INT32", "INT64", "UINT8", "UINT16", "UINT32", "UINT64"))
FLOAT_TYPES = frozenset(("FP16", "FP32", "FP64", "BF16"))
# How many distinct error messages a probe reports.
MAX_ERRORS = 10


# --- tensors ----------------------------------------------------------------------------------


def flatten(data: Any) -> list[Any]:
    """Nested lists (row-major) → one flat list; a scalar → a list of one."""
    if not isinstance(data, (list, tuple)):
        return [data]
    flat: list[Any] = []
    for item in data:
        flat.extend(flatten(item))
    return flat


def element_count(shape: list[int]) -> int:
    count = 1
    for dim in shape:
        count *= dim
    return count


def sample_values(datatype: str, count: int) -> list[Any]:
    """Deterministic values that every type can hold: small ints, halves (exact in FP16), text."""
    if datatype == "BYTES":
        return [f"edgeai-{i}" for i in range(count)]
    if datatype == "BOOL":
        return [i % 2 == 0 for i in range(count)]
    if datatype in INTEGER_TYPES:
        return [i % 8 for i in range(count)]
    if datatype in FLOAT_TYPES:
        return [(i % 8) / 2 for i in range(count)]
    raise TritonError(f"cannot generate values of datatype '{datatype}': give this input's data in inputs")


def generate_inputs(metadata: dict[str, Any], max_batch_size: int, batch_size: int = 1) -> list[dict[str, Any]]:
    """One request's inputs from the model's metadata and max_batch_size.

    The metadata shape of a batching model (max_batch_size > 0) starts with the batch
    dimension (-1): it is replaced by ``batch_size``. Every other -1 becomes 1.
    """
    if max_batch_size > 0 and batch_size > max_batch_size:
        raise TritonError(
            f"batch_size {batch_size} exceeds the max_batch_size {max_batch_size} of model "
            f"'{metadata.get('name', '')}': lower batch_size"
        )
    tensors = []
    for spec in metadata.get("inputs") or []:
        dims = [int(d) for d in spec.get("shape", [])]
        if max_batch_size > 0:
            dims = dims[1:]
        shape = [1 if d < 0 else d for d in dims]
        if max_batch_size > 0:
            shape = [batch_size, *shape]
        datatype = str(spec["datatype"])
        tensors.append(
            {
                "name": str(spec["name"]),
                "datatype": datatype,
                "shape": shape,
                "data": sample_values(datatype, element_count(shape)),
            }
        )
    if not tensors:
        raise TritonError(f"model '{metadata.get('name', '')}' declares no inputs in its metadata: give inputs")
    return tensors


def complete_inputs(given: list[dict[str, Any]], metadata: dict[str, Any]) -> list[dict[str, Any]]:
    """Inputs as given, data flattened, datatype from the metadata where left out; counts checked."""
    declared = {str(spec["name"]): spec for spec in metadata.get("inputs") or []}
    tensors = []
    for item in given:
        name = item["name"]
        datatype = item.get("datatype")
        if not datatype:
            if name not in declared:
                raise TritonError(
                    f"input '{name}' is not an input of model '{metadata.get('name', '')}' and has no datatype; "
                    f"{describe_inputs(metadata)}"
                )
            datatype = declared[name]["datatype"]
        shape = [int(d) for d in item["shape"]]
        data = flatten(item["data"])
        if len(data) != element_count(shape):
            raise TritonError(
                f"input '{name}' has {len(data)} values, but its shape {shape} holds {element_count(shape)}: "
                "make data fill the shape"
            )
        tensors.append({"name": name, "datatype": str(datatype).upper(), "shape": shape, "data": data})
    return tensors


def batch_of(tensors: list[dict[str, Any]], max_batch_size: int) -> int:
    """Inferences per request, as perf_analyzer counts them: the batch dimension of a batching model."""
    if max_batch_size > 0 and tensors and tensors[0]["shape"]:
        return int(tensors[0]["shape"][0])
    return 1


def describe_inputs(metadata: dict[str, Any], max_batch_size: int | None = None) -> str:
    """What the model takes, for messages whose fix is to change the inputs."""
    specs = ", ".join(
        f"{spec['name']} ({spec['datatype']}, shape [{','.join(str(d) for d in spec.get('shape', []))}])"
        for spec in metadata.get("inputs") or []
    )
    text = f"model '{metadata.get('name', '')}' takes {specs or 'no inputs'}; -1 is any size"
    if max_batch_size:
        text += f", and the first dimension is the batch (max_batch_size {max_batch_size})"
    return text


def http_request_body(tensors: list[dict[str, Any]]) -> dict[str, Any]:
    """KServe v2 JSON inference request; BYTES elements as strings."""
    inputs = []
    for tensor in tensors:
        data = tensor["data"]
        if tensor["datatype"] == "BYTES":
            data = [v.decode("utf-8", errors="replace") if isinstance(v, bytes) else str(v) for v in data]
        inputs.append({"name": tensor["name"], "datatype": tensor["datatype"], "shape": tensor["shape"], "data": data})
    return {"inputs": inputs}


def outputs_from_http(payload: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "name": str(out.get("name", "")),
            "datatype": str(out.get("datatype", "")),
            "shape": [int(d) for d in out.get("shape", [])],
            "data": flatten(out.get("data", [])),
        }
        for out in payload.get("outputs") or []
    ]


# --- expected outputs -------------------------------------------------------------------------


def values_match(want: Any, got: Any, datatype: str, tolerance: float) -> bool:
    """Numbers within the absolute tolerance; BYTES, strings and BOOL exactly."""
    if datatype == "BYTES" or isinstance(want, str) or isinstance(got, str):
        return str(want) == str(got)
    if datatype == "BOOL" or isinstance(want, bool) or isinstance(got, bool):
        return bool(want) == bool(got)
    try:
        w, g = float(want), float(got)
    except (TypeError, ValueError):
        return want == got
    if math.isnan(w) or math.isnan(g):
        return math.isnan(w) and math.isnan(g)
    return abs(w - g) <= tolerance


def _shown(values: list[Any], limit: int = 16) -> str:
    head = ", ".join(repr(v) if isinstance(v, str) else str(v) for v in values[:limit])
    return f"[{head}{', ...' if len(values) > limit else ''}]"


def compare_outputs(expected: list[dict[str, Any]], outputs: list[dict[str, Any]]) -> list[str]:
    """One line per expected output that the response does not match: expected vs got."""
    by_name = {out["name"]: out for out in outputs}
    problems = []
    for item in expected:
        name = item["name"]
        want = flatten(item["data"])
        tolerance = item.get("tolerance")
        tolerance = DEFAULT_TOLERANCE if tolerance is None else float(tolerance)
        out = by_name.get(name)
        if out is None:
            problems.append(f"output '{name}' is not in the response (it has: {', '.join(sorted(by_name)) or 'none'})")
            continue
        got = out["data"]
        if len(got) != len(want):
            problems.append(
                f"output '{name}': expected {len(want)} values {_shown(want)}, got {len(got)} values {_shown(got)}"
            )
            continue
        differ = [i for i in range(len(want)) if not values_match(want[i], got[i], out["datatype"], tolerance)]
        if differ:
            exact = out["datatype"] == "BYTES" or any(isinstance(w, str) for w in want)
            how = "exactly" if exact else f"within {tolerance:g}"
            problems.append(
                f"output '{name}' ({out['datatype']}): expected {_shown(want)}, got {_shown(got)} "
                f"({len(differ)} of {len(want)} values differ {how}, first at index {differ[0]})"
            )
    return problems


# --- statistics -------------------------------------------------------------------------------


def percentile(sorted_values: list[int], percent: int) -> int:
    """Nearest-rank percentile: the smallest value with at least ``percent``% of values at or below it."""
    if not sorted_values:
        return 0
    rank = max(1, -(-percent * len(sorted_values) // 100))  # ceil(percent/100 * n) in integers
    return sorted_values[rank - 1]


def latency_stats(latencies_ns: list[int], elapsed_ns: int, inferences_per_request: int = 1) -> dict[str, Any]:
    """Throughput and latency under perf_analyzer's names: infer/sec and usec."""
    usec = sorted(ns // 1000 for ns in latencies_ns)
    stats: dict[str, Any] = {
        "throughput_infer_per_sec": (
            round(len(usec) * inferences_per_request * 1e9 / elapsed_ns, 2) if usec and elapsed_ns > 0 else 0.0
        ),
        "avg_latency_usec": round(sum(usec) / len(usec)) if usec else 0,
    }
    for percent in PERCENTILES:
        stats[f"p{percent}_latency_usec"] = percentile(usec, percent)
    return stats


# --- backends ---------------------------------------------------------------------------------


class HttpBackend:
    """KServe v2 over HTTP/REST through TritonClient (no third-party library)."""

    protocol = "http"

    def __init__(self, client: TritonClient) -> None:
        self.client = client
        self.endpoint = client.url

    def metadata(self, model: str, version: str | None) -> dict[str, Any]:
        return self.client.model_metadata(model, version)

    def config(self, model: str, version: str | None) -> dict[str, Any]:
        return self.client.model_config(model, version)

    def index(self) -> list[ModelState]:
        return self.client.repository_index()

    def infer(self, model: str, version: str | None, tensors: list[dict[str, Any]]) -> dict[str, Any]:
        payload = self.client.infer(model, http_request_body(tensors), version)
        return {"model_version": str(payload.get("model_version", "")), "outputs": outputs_from_http(payload)}

    def close(self) -> None:
        self.client.close()


def default_grpc_url(url: str) -> str:
    """``host:8001`` from the HTTP URL's host (Triton's default gRPC port)."""
    host = urllib.parse.urlsplit(url).hostname or ""
    if ":" in host:
        host = f"[{host}]"
    return f"{host}:{GRPC_DEFAULT_PORT}"


def grpc_error(exc: Any, endpoint: str, what: str, timeout: float, model: str | None = None) -> TritonError:
    """A tritonclient InferenceServerException as the collection's error, with Triton's text."""
    status = str(exc.status() or "")
    text = str(exc.message() or exc)
    if status == "StatusCode.UNAVAILABLE":
        return TritonUnreachable(
            f"Triton at {endpoint} (gRPC) did not answer {what}: {text}. Check grpc_url (Triton's gRPC port, "
            "8001 by default), that the server runs, and for TLS the CA (ca_path).",
            url=endpoint,
        )
    if status == "StatusCode.DEADLINE_EXCEEDED":
        return TritonUnreachable(
            f"Triton at {endpoint} (gRPC) did not answer {what} within {timeout:g}s (timed out). "
            "Raise timeout if the server is busy or the model slow; check that grpc_url is Triton's gRPC port.",
            url=endpoint,
        )
    return TritonError(
        f"Triton at {endpoint} (gRPC) refused {what} ({status or 'no status'}): {text}",
        url=endpoint,
        model=model,
        status=status,
        error=text,
    )


def to_numpy(tensor: dict[str, Any]) -> Any:
    """A tensor's flat data as a numpy array of its shape (BYTES as an object array of bytes)."""
    datatype = tensor["datatype"]
    try:
        if datatype == "BYTES":
            values = [v if isinstance(v, bytes) else str(v).encode("utf-8") for v in tensor["data"]]
            array = np.array(values, dtype=np.object_)
        else:
            array = np.array(tensor["data"], dtype=triton_to_np_dtype(datatype))
        return array.reshape(tensor["shape"])
    except (TypeError, ValueError) as exc:
        raise TritonError(
            f"input '{tensor['name']}': data does not fit {datatype} shape {tensor['shape']}: {exc}"
        ) from exc


def outputs_from_numpy(described: list[dict[str, Any]], arrays: dict[str, Any]) -> list[dict[str, Any]]:
    """Output tensors from the response's output list and each output's numpy array."""
    outputs = []
    for out in described:
        name, datatype = str(out["name"]), str(out["datatype"])
        array = arrays.get(name)
        data = [] if array is None else array.flatten().tolist()
        if datatype == "BYTES":
            data = [v.decode("utf-8", errors="backslashreplace") if isinstance(v, bytes) else v for v in data]
        outputs.append(
            {"name": name, "datatype": datatype, "shape": [int(d) for d in out.get("shape", [])], "data": data}
        )
    return outputs


class GrpcBackend:
    """KServe v2 over gRPC through tritonclient.grpc (thread-safe for unary calls)."""

    protocol = "grpc"

    def __init__(self, url: str, timeout: float, ssl: bool = False, root_certificates: str | None = None) -> None:
        if not HAS_TRITONCLIENT_GRPC:
            raise TritonError("protocol=grpc needs the Python library tritonclient[grpc] on the managed host")
        if "://" in url:
            raise TritonError(f"grpc_url '{url}' must be HOST:PORT (no scheme), e.g. triton.example:8001")
        self.endpoint = url
        self.timeout = timeout
        try:
            self._client = grpcclient.InferenceServerClient(url, ssl=ssl, root_certificates=root_certificates)
        except (OSError, ValueError) as exc:
            raise TritonError(f"cannot open a gRPC channel to {url}: {exc}", url=url) from exc

    def _call(self, what: str, model: str | None, call: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        try:
            return call(*args, client_timeout=self.timeout, **kwargs)
        except InferenceServerException as exc:
            raise grpc_error(exc, self.endpoint, what, self.timeout, model) from exc

    def metadata(self, model: str, version: str | None) -> dict[str, Any]:
        return self._call(
            f"the metadata of model '{model}'",
            model,
            self._client.get_model_metadata,
            model,
            version or "",
            as_json=True,
        )

    def config(self, model: str, version: str | None) -> dict[str, Any]:
        answer = self._call(
            f"the config of model '{model}'", model, self._client.get_model_config, model, version or "", as_json=True
        )
        return answer.get("config", {})

    def index(self) -> list[ModelState]:
        answer = self._call("the repository index", None, self._client.get_model_repository_index, as_json=True)
        return [
            ModelState(
                name=str(entry.get("name", "")),
                version=str(entry.get("version", "")),
                state=str(entry.get("state", "")),
                reason=str(entry.get("reason", "")),
            )
            for entry in answer.get("models", [])
        ]

    def infer(self, model: str, version: str | None, tensors: list[dict[str, Any]]) -> dict[str, Any]:
        inputs = []
        for tensor in tensors:
            item = grpcclient.InferInput(tensor["name"], list(tensor["shape"]), tensor["datatype"])
            try:
                item.set_data_from_numpy(to_numpy(tensor))
            except InferenceServerException as exc:
                raise TritonError(f"input '{tensor['name']}': {exc.message()}") from exc
            inputs.append(item)
        result = self._call(
            f"inference on model '{model}'", model, self._client.infer, model, inputs, model_version=version or ""
        )
        response = result.get_response(as_json=True)
        described = response.get("outputs", [])
        arrays = {str(out["name"]): result.as_numpy(str(out["name"])) for out in described}
        return {
            "model_version": str(response.get("model_version", "")),
            "outputs": outputs_from_numpy(described, arrays),
        }

    def close(self) -> None:
        self._client.close()


def sentence(text: Any) -> str:
    """Text ending in one full stop, to be followed by another sentence."""
    return str(text).rstrip().rstrip(".") + "."


# --- the probe --------------------------------------------------------------------------------


def model_problem(backend: Any, model: str, version: str | None, exc: TritonError) -> TritonError:
    """Why the server refused the model's metadata, from the repository index: absent, no such version, not ready."""
    if isinstance(exc, TritonUnreachable):
        return exc
    try:
        index = backend.index()
    except TritonError:
        return exc
    where = f"Triton at {backend.endpoint}"
    entries = [m for m in index if m.name == model]
    names = sorted({m.name for m in index})
    if not entries:
        return TritonError(
            f"model '{model}' is not in the model repository of {where}; the repository has: "
            f"{', '.join(names) or 'no models'}. Check the model name (its directory in the repository).",
            model=model,
            available_models=names,
        )
    if version and not any(m.version == version for m in entries):
        versions = sorted({m.version for m in entries if m.version})
        return TritonError(
            f"model '{model}' has no version {version} on {where} (versions: {', '.join(versions) or 'none loaded'}). "
            "Leave version unset for the server's choice, or publish that version.",
            model=model,
        )
    states = "; ".join(
        f"version {m.version or '?'} is {m.state or 'not loaded'}: {m.reason or 'no reason given'}"
        for m in entries
        if not version or m.version == version
    )
    return TritonError(
        f"model '{model}' is not ready on {where} ({states}). Load it first (edgeai.inference.triton_model) "
        "or fix what the reason says.",
        model=model,
    )


@dataclass
class RequestsRun:
    """What N requests from C threads gave: latencies of the successes, errors, the responses."""

    elapsed_ns: int
    latencies_ns: list[int] = field(default_factory=list)
    responses: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def run_requests(send: Callable[[], dict[str, Any]], requests: int, concurrency: int) -> RequestsRun:
    """Issue ``requests`` calls of ``send`` from ``concurrency`` threads; time each with perf_counter_ns."""

    def one(_index: int) -> tuple[dict[str, Any] | None, str | None, int]:
        started = time.perf_counter_ns()
        try:
            response = send()
        except TritonError as exc:
            return None, str(exc), time.perf_counter_ns() - started
        return response, None, time.perf_counter_ns() - started

    started = time.perf_counter_ns()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        outcomes = list(pool.map(one, range(requests)))
    run = RequestsRun(elapsed_ns=time.perf_counter_ns() - started)
    for response, error, latency in outcomes:
        if error is None:
            run.responses.append(response)
            run.latencies_ns.append(latency)
        else:
            run.errors.append(error)
    return run


def check_counts(requests: int, concurrency: int, warmup: int, batch_size: int) -> None:
    if requests < 1 or concurrency < 1 or batch_size < 1 or warmup < 0:
        raise TritonError(
            f"requests ({requests}), concurrency ({concurrency}) and batch_size ({batch_size}) must be at least 1, "
            f"warmup ({warmup}) at least 0"
        )


def probe(
    backend: Any,
    model: str,
    version: str | None = None,
    inputs: list[dict[str, Any]] | None = None,
    expected: list[dict[str, Any]] | None = None,
    requests: int = 10,
    concurrency: int = 1,
    warmup: int = 1,
    batch_size: int = 1,
) -> dict[str, Any]:
    """Warm up, send ``requests`` inferences ``concurrency`` at a time, check outputs; the statistics.

    Raises TritonError naming the cause and the fix; when requests ran, its ``result`` carries the
    statistics (and after a failed warmup, the inputs), which the module returns as on success.
    """
    check_counts(requests, concurrency, warmup, batch_size)
    if version is not None and not version.isdigit():
        raise TritonError(f"version '{version}' must be a number (a version directory of the model)")
    try:
        metadata = backend.metadata(model, version)
        config = backend.config(model, version)
    except TritonError as exc:
        raise model_problem(backend, model, version, exc) from exc
    max_batch_size = int(config.get("max_batch_size", 0) or 0)
    tensors = complete_inputs(inputs, metadata) if inputs else generate_inputs(metadata, max_batch_size, batch_size)
    fix = describe_inputs(metadata, max_batch_size)

    def send() -> dict[str, Any]:
        return backend.infer(model, version, tensors)

    try:
        for _attempt in range(warmup):
            send()
    except TritonUnreachable:
        raise
    except TritonError as exc:
        raise TritonError(
            f"warmup request failed: {sentence(exc)} The {fix}.", result={"inputs": tensors}, **exc.details
        ) from exc

    run = run_requests(send, requests, concurrency)
    first = run.responses[0] if run.responses else {}
    result: dict[str, Any] = {
        "model_version": first.get("model_version", ""),
        "protocol": backend.protocol,
        "endpoint": backend.endpoint,
        "inputs": tensors,
        "outputs": first.get("outputs", []),
        "request_count": requests,
        "failures": len(run.errors),
        "concurrency": concurrency,
        "batch_size": batch_of(tensors, max_batch_size),
        "duration_sec": round(run.elapsed_ns / 1e9, 6),
        "errors": list(dict.fromkeys(run.errors))[:MAX_ERRORS],
        "mismatched_responses": 0,
        **latency_stats(run.latencies_ns, run.elapsed_ns, batch_of(tensors, max_batch_size)),
    }
    problems: list[str] = []
    if expected:
        for response in run.responses:
            found = compare_outputs(expected, response["outputs"])
            if found:
                result["mismatched_responses"] += 1
                problems = problems or found
    if run.errors:
        raise TritonError(
            f"{len(run.errors)} of {requests} inference requests to model '{model}' failed; first error: "
            f"{sentence(run.errors[0])} The {fix}.",
            result=result,
            url=backend.endpoint,
            model=model,
        )
    if problems:
        raise TritonError(
            f"model '{model}' on {backend.endpoint} answered other outputs than expected in "
            f"{result['mismatched_responses']} of {len(run.responses)} responses: " + "; ".join(problems),
            result=result,
            url=backend.endpoint,
            model=model,
        )
    return result
