# Copyright: edgeai.inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Connection options shared by the Triton modules."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
attributes:
  action_group:
    description: Use C(group/edgeai.inference.triton) in C(module_defaults) to set the connection once for all of
      the collection's Triton modules.
    support: full
    membership:
      - edgeai.inference.triton
options:
  url:
    description:
      - Base URL of Triton's HTTP/REST endpoint, for example C(http://node:8000) or a NodePort C(http://node:30800).
    type: str
    required: true
  timeout:
    description:
      - Seconds to wait for each HTTP answer.
    type: float
    default: 10
  ca_path:
    description:
      - PEM bundle of the CA that signed Triton's certificate, for C(https) URLs. The system trust store when unset.
    type: path
  validate_certs:
    description:
      - Verify Triton's certificate for C(https) URLs. Turn off only for a throwaway test server.
    type: bool
    default: true
"""
