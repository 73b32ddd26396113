#!/usr/bin/python
# Copyright: edgeai.inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Load or unload a model on a Triton server in EXPLICIT model control mode."""

from __future__ import annotations

DOCUMENTATION = r"""
module: triton_model
short_description: Load or unload a model on a Triton Inference Server
version_added: 0.1.0
description:
  - Brings a model to the wanted state through Triton's repository API, for servers started with
    C(--model-control-mode=explicit).
  - Compares first; makes no call when the model is already in that state. With O(config), the
    model is (re)loaded with that configuration override every time, since Triton does not report
    the configuration a model was loaded with.
  - With O(reload=true) a READY model is loaded again, which makes Triton read the repository
    anew (new versions, a changed config.pbtxt). Pass it when a publish changed the model, for
    example from the C(models_changed) result of M(edgeai.inference.model_repository_sync).
author:
  - edgeai.inference maintainers (@edgeai)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - edgeai.inference.triton_connection
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  platform:
    platforms: posix
options:
  name:
    description:
      - Name of the model (its directory in the model repository).
    type: str
    required: true
  state:
    description:
      - V(loaded) makes the model READY; V(unloaded) unloads it.
    type: str
    choices: [loaded, unloaded]
    default: loaded
  config:
    description:
      - Model configuration (JSON form of config.pbtxt) to load the model with, overriding the
        repository's. Only with O(state=loaded).
    type: dict
  reload:
    description:
      - Load the model again even when it is READY (reports C(changed)). Only with O(state=loaded).
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Load the linear model
  edgeai.inference.triton_model:
    url: http://triton.example:8000
    name: linear

- name: Serve the versions just published
  edgeai.inference.triton_model:
    url: http://triton.example:8000
    name: linear
    reload: "{{ 'linear' in published.models_changed }}"

- name: Unload it
  edgeai.inference.triton_model:
    url: http://triton.example:8000
    name: linear
    state: unloaded
"""

RETURN = r"""
model:
  description: The model's index entry after the task (before it, in check mode).
  returned: when the repository has the model
  type: dict
  sample: {"name": "linear", "version": "1", "state": "READY", "reason": ""}
error:
  description: On failure, the error's class as C(type) and its details, C(url) and the C(model) concerned.
  returned: failure
  type: dict
  sample: {"type": "TritonError", "url": "http://triton.example:8000", "model": "linear"}
"""

from functools import partial

from ansible_collections.edgeai.inference.plugins.module_utils.base import ModuleRun, run_module
from ansible_collections.edgeai.inference.plugins.module_utils.errors import TritonError
from ansible_collections.edgeai.inference.plugins.module_utils.triton.client import (
    CONNECTION_ARGUMENT_SPEC,
    client_from_params,
)

ARGUMENT_SPEC = {
    **CONNECTION_ARGUMENT_SPEC,
    "name": {"type": "str", "required": True},
    "state": {"type": "str", "choices": ["loaded", "unloaded"], "default": "loaded"},
    "config": {"type": "dict"},
    "reload": {"type": "bool", "default": False},
}


def reconcile(run: ModuleRun) -> None:
    params, result = run.params, run.result
    name, wanted = params["name"], params["state"]
    if (params["config"] is not None or params["reload"]) and wanted != "loaded":
        raise TritonError("config and reload apply only to state=loaded")
    client = run.closing(client_from_params(params))
    before = client.model_state(name)
    if before is None:
        raise TritonError(
            f"model '{name}' is not in the model repository of Triton at {params['url']}: "
            "publish it first, or check the name (the model's directory name)",
            url=client.url,
            model=name,
        )
    is_loaded = before.state == "READY"
    forced = params["config"] is not None or params["reload"]
    changes = []
    if wanted == "loaded" and (not is_loaded or forced):
        changes.append(partial(client.load_model, name, params["config"]))
    elif wanted == "unloaded" and is_loaded:
        changes.append(partial(client.unload_model, name))
    result["model"] = before.as_dict()
    run.set_diff(
        {"state": before.state or "UNLOADED"},
        {"state": "READY" if wanted == "loaded" else "UNAVAILABLE"},
    )
    if run.apply(changes):
        after = client.model_state(name)
        result["model"] = after.as_dict() if after else None


def main() -> None:
    run_module(ARGUMENT_SPEC, reconcile, supports_check_mode=True)


if __name__ == "__main__":
    main()
