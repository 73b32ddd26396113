#!/usr/bin/python
# Copyright: edgeai.inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read-only health of a Triton Inference Server."""

from __future__ import annotations

DOCUMENTATION = r"""
module: triton_server_info
short_description: Report the health of a Triton Inference Server and of every model
version_added: 0.1.0
description:
  - Reads liveness, readiness, server metadata and the repository index (every model version
    with its state and the server's reason) of one Triton endpoint.
  - Optionally waits until the server is ready, and fails naming each required model that is
    not READY, with the reason Triton gives.
  - Changes nothing.
author:
  - edgeai.inference maintainers (@edgeai)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - edgeai.inference.triton_connection
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  platform:
    platforms: posix
options:
  wait:
    description:
      - Wait until the server reports ready before reading the index.
    type: bool
    default: false
  wait_timeout:
    description:
      - Seconds to wait for readiness when O(wait=true).
    type: int
    default: 300
  poll_interval:
    description:
      - Seconds between readiness polls when O(wait=true).
    type: float
    default: 2
  required_models:
    description:
      - Models that must be READY, each C(NAME) or C(NAME:VERSION). The module fails listing every
        one that is not, with the server's reason.
    type: list
    elements: str
    default: []
"""

EXAMPLES = r"""
- name: Wait for Triton and require both lab models
  edgeai.inference.triton_server_info:
    url: http://triton.example:8000
    wait: true
    wait_timeout: 600
    required_models:
      - linear
      - labels:1
  register: triton_health

- name: Over TLS with a private CA
  edgeai.inference.triton_server_info:
    url: https://triton.example:8443
    ca_path: /etc/edgeai/ca.crt
"""

RETURN = r"""
live:
  description: The server answered its liveness probe.
  returned: always
  type: bool
ready:
  description: The server answered its readiness probe.
  returned: always
  type: bool
server:
  description: Server metadata (name, version, extensions).
  returned: when the server is live
  type: dict
  sample: {"name": "triton", "version": "2.45.0", "extensions": ["model_repository"]}
models:
  description: Every model version in the repository index, with state and reason.
  returned: when the server is live
  type: list
  elements: dict
  sample: [{"name": "linear", "version": "1", "state": "READY", "reason": ""}]
repository_error:
  description:
    - Why the repository index could not be read (the model store unreachable, for example). The
      required models were then checked one by one through their own readiness endpoints, and
      RV(models) lists only them.
  returned: when the index failed
  type: str
unready:
  description: Each required model that is not READY, with the server's reason.
  returned: always
  type: list
  elements: str
waited:
  description: Seconds spent waiting for readiness.
  returned: always
  type: float
error:
  description: On failure, the error's class as C(type) and the C(url) of the server.
  returned: failure
  type: dict
  sample: {"type": "TritonNotReady", "url": "http://triton.example:8000"}
"""

from ansible_collections.edgeai.inference.plugins.module_utils.base import ModuleRun, run_module
from ansible_collections.edgeai.inference.plugins.module_utils.errors import TritonError, TritonNotReady
from ansible_collections.edgeai.inference.plugins.module_utils.triton.client import (
    CONNECTION_ARGUMENT_SPEC,
    client_from_params,
    parse_required,
    required_states,
    unready_required,
)

ARGUMENT_SPEC = {
    **CONNECTION_ARGUMENT_SPEC,
    "wait": {"type": "bool", "default": False},
    "wait_timeout": {"type": "int", "default": 300},
    "poll_interval": {"type": "float", "default": 2},
    "required_models": {"type": "list", "elements": "str", "default": []},
}


def reconcile(run: ModuleRun) -> None:
    params, result = run.params, run.result
    for spec in params["required_models"]:
        parse_required(spec)
    client = run.closing(client_from_params(params))
    if params["wait"]:
        result["waited"] = round(client.wait_ready(params["wait_timeout"], params["poll_interval"]), 3)
    result["live"] = client.live()
    result["ready"] = client.ready()
    result["server"] = client.metadata()
    try:
        index = client.repository_index()
    except TritonError as exc:
        # Triton lists its repository from the store: with the store down the index fails (or
        # hangs) while the loaded models go on serving. Ask each required model instead.
        result["repository_error"] = str(exc)
        run.warn(f"the repository index of Triton at {params['url']} failed, required models checked one by one: {exc}")
        index = required_states(client, params["required_models"], str(exc))
    result["models"] = [m.as_dict() for m in index]
    result["unready"] = unready_required(index, params["required_models"])
    if result["unready"]:
        raise TritonNotReady(f"Triton at {params['url']}: " + "; ".join(result["unready"]), url=client.url)
    if params["wait"] and not result["ready"]:
        raise TritonNotReady(f"Triton at {params['url']} is live but not ready", url=client.url)


def main() -> None:
    run_module(
        ARGUMENT_SPEC,
        reconcile,
        result={"changed": False, "live": False, "ready": False, "unready": [], "waited": 0.0},
        supports_check_mode=True,
    )


if __name__ == "__main__":
    main()
