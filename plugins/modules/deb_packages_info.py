#!/usr/bin/python
# Copyright: edgeai.inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which Debian packages are installed, from one dpkg-query."""

from __future__ import annotations

DOCUMENTATION = r"""
module: deb_packages_info
short_description: Report which of a list of Debian packages are installed, from one dpkg-query
version_added: 0.1.0
description:
  - Asks C(dpkg-query) once which of the packages in O(name) are installed and returns them split into
    RV(installed) and RV(missing), each in the order given.
  - A role runs it before M(ansible.builtin.apt) and runs apt only when something is missing. The apt module
    imports python3-apt and builds its package cache, which costs most of a CPU second on a small node even
    when there is nothing to do; C(dpkg-query) reads the dpkg database in a few milliseconds.
  - Changes nothing.
author:
  - edgeai.inference maintainers (@edgeai)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  platform:
    platforms: debian
options:
  name:
    description:
      - Package specs as M(ansible.builtin.apt) takes them, each C(NAME), C(NAME:ARCH), C(NAME=VERSION) or
        C(NAME>=VERSION).
      - A package counts as installed when dpkg's current state for it is C(installed) (C(ii), or C(hi) for a held
        one); C(NAME) without C(:ARCH) counts for any architecture.
      - C(NAME=VERSION) counts only when exactly that version is installed; C(*) in VERSION is a wildcard, as for apt.
        C(NAME>=VERSION) compares with C(dpkg --compare-versions).
      - A name dpkg does not know (never installed, a typo, a virtual package, a name pattern) is missing.
    type: list
    elements: str
    required: true
requirements:
  - dpkg-query on the host (Debian, Ubuntu and their derivatives)
notes:
  - On a host without C(dpkg-query) the module fails with a message saying so; the collection's roles install Debian
    packages and support Debian and Ubuntu only.
  - A virtual package or a name pattern is reported missing even when apt would find it satisfied; apt then runs and
    changes nothing.
seealso:
  - module: ansible.builtin.apt
  - module: ansible.builtin.package_facts
"""

EXAMPLES = r"""
- name: Which base packages are missing
  edgeai.inference.deb_packages_info:
    name:
      - ca-certificates
      - curl
  register: base_deb

- name: Install them (apt and its cache update only when something is missing)
  ansible.builtin.apt:
    name:
      - ca-certificates
      - curl
    state: present
    update_cache: true
  when: base_deb.missing | length > 0

- name: A pinned version counts only when that exact version is installed
  edgeai.inference.deb_packages_info:
    name:
      - libpython3.11=3.11.2-6+deb12u6
      - python3-numpy>=1:1.24
"""

RETURN = r"""
installed:
  description: The specs of O(name) that are installed, in the order given.
  returned: always
  type: list
  elements: str
  sample: ["ca-certificates", "curl"]
missing:
  description: The specs of O(name) that are not installed (or not in the version asked for), in the order given.
  returned: always
  type: list
  elements: str
  sample: ["nfs-common"]
error:
  description: On failure, the error's class as C(type), and the C(rc) of a dpkg call that failed.
  returned: failure
  type: dict
  sample: {"type": "DebError"}
"""

from ansible_collections.edgeai.inference.plugins.module_utils.base import ModuleRun, run_module
from ansible_collections.edgeai.inference.plugins.module_utils.deb.packages import package_states


def reconcile(run: ModuleRun) -> None:
    module = run.module
    run.result["installed"], run.result["missing"] = package_states(
        module.run_command, module.get_bin_path, run.params["name"]
    )


def main() -> None:
    run_module(
        {"name": {"type": "list", "elements": "str", "required": True}},
        reconcile,
        supports_check_mode=True,
    )


if __name__ == "__main__":
    main()
