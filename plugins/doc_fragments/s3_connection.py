# Copyright: edgeai.inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Connection options shared by the modules that talk to S3 (MinIO): one vocabulary, one set of fallbacks."""

from __future__ import annotations


class ModuleDocFragment:
    # Every S3 module: model_repository_sync and the MinIO admin modules.
    DOCUMENTATION = r"""
options:
  endpoint_url:
    description:
      - URL of the S3 API, scheme, host and port, for example C(https://minio.example:9000).
      - The host that runs the module must reach it, and for C(https) the host name or address must be in the server's
        certificate.
      - If not set, the value of the E(AWS_ENDPOINT_URL) environment variable is used.
    type: str
    aliases: [endpoint]
  access_key:
    description:
      - Access key of the account the module signs its requests with.
      - If not set, the value of the E(AWS_ACCESS_KEY_ID) environment variable is used.
    type: str
    aliases: [aws_access_key_id]
  secret_key:
    description:
      - Secret key of that account.
      - If not set, the value of E(AWS_SECRET_ACCESS_KEY).
    type: str
    aliases: [aws_secret_access_key]
  session_token:
    description:
      - Session token of temporary credentials. If not set, the value of E(AWS_SESSION_TOKEN).
    type: str
  region:
    description:
      - Region to sign requests for (and, for M(edgeai.inference.minio_bucket), to create buckets in); MinIO's default
        is V(us-east-1).
    type: str
    default: us-east-1
  ca_path:
    description:
      - PEM bundle of the CA that signed the endpoint's certificate (a private MinIO CA), for C(https) endpoints.
      - If not set, the value of E(AWS_CA_BUNDLE); the system trust store when neither is set.
    type: path
  validate_certs:
    description:
      - Verify the endpoint's certificate for C(https) endpoints. Leave on; use O(ca_path) for a private CA.
    type: bool
    default: true
notes:
  - Options win over the environment. Set an access key and its secret key the same way (both options, or both
    variables of one pair), so that a key is never paired with another account's secret.
  - On failure the result's C(error) holds the error's C(type) and the S3 details C(endpoint), C(bucket) and C(code)
    (S3's error code, for example C(SignatureDoesNotMatch)) where they are known.
"""

    # The MinIO admin modules (minio_bucket, minio_policy, minio_user), listed before DOCUMENTATION: the
    # fragment listed first wins where both document an option, and this one only adds to the shared options.
    MINIO = r"""
attributes:
  action_group:
    description: C(group/edgeai.inference.minio) in C(module_defaults) sets the connection of every MinIO module.
    support: full
    membership: [edgeai.inference.minio]
options:
  endpoint_url:
    required: true
  access_key:
    description:
      - Access key of an account allowed to administer MinIO, normally the root user.
      - If not set, the value of E(MINIO_ROOT_USER) (the variable MinIO itself reads), else of E(AWS_ACCESS_KEY_ID).
  secret_key:
    description:
      - Secret key of that account, normally the root password.
      - If not set, the value of E(MINIO_ROOT_PASSWORD), else of E(AWS_SECRET_ACCESS_KEY).
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
