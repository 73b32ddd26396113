# Copyright: edgeai.inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Connection options shared by the MinIO modules."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
attributes:
  action_group:
    description: Use C(group/edgeai.inference.minio) in C(module_defaults) to set the connection once for all of
      the collection's Minio modules.
    support: full
    membership:
      - edgeai.inference.minio
options:
  endpoint:
    description:
      - URL of MinIO's S3 API, scheme, host and port, for example C(https://minio.example:9000).
      - The host that runs the module must reach it, and for C(https) the host name or address must be in the server's
        certificate.
    type: str
    required: true
  access_key:
    description:
      - Access key of an account allowed to administer MinIO, normally the root user.
      - If not set, the value of the E(MINIO_ROOT_USER) environment variable is used (the variable MinIO itself reads).
    type: str
  secret_key:
    description:
      - Secret key of that account, normally the root password.
      - If not set, the value of the E(MINIO_ROOT_PASSWORD) environment variable is used.
    type: str
  region:
    description:
      - Region to sign requests for and to create buckets in; MinIO's default is V(us-east-1).
    type: str
    default: us-east-1
  ca_path:
    description:
      - PEM file of the CA that signed MinIO's certificate, for C(https) endpoints.
      - The system trust store when unset.
    type: path
  validate_certs:
    description:
      - Verify MinIO's certificate for C(https) endpoints. Turn off only for a throwaway test server.
    type: bool
    default: true
  timeout:
    description:
      - Seconds to wait for a connection and for each answer.
    type: float
    default: 10
requirements:
  - minio (the MinIO Python SDK, 7.2 or later) on the host that runs the module
notes:
  - Connection and TLS errors fail at once with a message naming the cause; a C(503) from a server that is still
    starting is retried for a few seconds.
  - Before any change the module checks the credentials, so wrong keys fail with a message that says so.
"""
