"""The collection's publisher as a direct client call, for the upload benchmark.

Usage: publish_client.py SRC BUCKET PREFIX ENDPOINT. Credentials come from
AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY in the environment, never argv.
"""

from __future__ import annotations

import json
import os
import sys

# run as `python -m bench.publish_client` with PYTHONPATH=.:.collections (as pytest does)
from ansible_collections.edgeai.inference.plugins.module_utils.model_repository.store_s3 import S3Store
from ansible_collections.edgeai.inference.plugins.module_utils.model_repository.sync import publish


def main(src: str, bucket: str, prefix: str, endpoint: str) -> int:
    store = S3Store(
        bucket,
        prefix,
        endpoint_url=endpoint,
        access_key=os.environ["AWS_ACCESS_KEY_ID"],
        secret_key=os.environ["AWS_SECRET_ACCESS_KEY"],
    )
    try:
        report = publish(src, store)
    finally:
        store.close()
    print(json.dumps({"changed": report.changed, **report.as_dict()}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(*sys.argv[1:5]))
