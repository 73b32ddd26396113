# Copyright: edgeai.inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the model_repository role: config.pbtxt from a mapping, and its model list planned.

Documented in one YAML file per filter beside this file (<filter>.yml).
"""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.edgeai.inference.plugins.module_utils.model_repository import entries as model_entries
from ansible_collections.edgeai.inference.plugins.module_utils.model_repository import pbtxt


def triton_config_pbtxt(config, name, origin="config", header="", check=True):
    """config.pbtxt text for a ModelConfig mapping."""
    try:
        text = pbtxt.render(config, name, origin, header)
        if check:
            pbtxt.check_rendered(text, name, origin)
    except pbtxt.ConfigMappingError as exc:
        raise AnsibleFilterError(str(exc)) from None
    return text


def model_repository_entries(models, examples=None):
    """model_repository_models checked, one entry per model with its rendered config.pbtxt."""
    try:
        return model_entries.entries(models, examples)
    except (model_entries.ModelListError, pbtxt.ConfigMappingError) as exc:
        raise AnsibleFilterError(str(exc)) from None


def model_repository_files(entries, found=None):
    """The build directory's files and directories for the checked entries."""
    return model_entries.files(entries, found)


def model_repository_stale(present, expected, unpacked=None):
    """Paths in the build directory that nothing put there (topmost of each stale subtree)."""
    return model_entries.stale(present, expected, unpacked)


class FilterModule:
    def filters(self):
        return {
            "triton_config_pbtxt": triton_config_pbtxt,
            "model_repository_entries": model_repository_entries,
            "model_repository_files": model_repository_files,
            "model_repository_stale": model_repository_stale,
        }
