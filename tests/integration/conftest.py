"""Shared by the module tests: run a module through Ansible, and one real Triton."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests import labtriton
from tests.integration.labsite import converge_site
from tests.support import ports

PORTS = ports.TRITON["shared"]
URL = f"http://127.0.0.1:{PORTS[0]}"
BUCKET = "health-models"


@pytest.fixture
def converged_site(lab):
    """The lab's site as site.yml makes it, proven before each test (tests/support/site.py)."""
    return converge_site(lab)


@pytest.fixture(scope="module")
def lab_gpus(lab):
    """The lab's GPU servers advertising their GPUs: the site's device plugin deployed (gpu.yml)."""
    from tests.integration.kube import api_client, site_gpus

    site_gpus(api_client(lab))


@pytest.fixture(scope="session")
def triton(lab, tmp_path_factory):
    """Triton from MinIO over TLS: linear loads, broken fails to load (server keeps running)."""
    labtriton.upload_models(lab, bucket=BUCKET)
    labtriton.upload_models(lab, bucket=BUCKET, models=Path(__file__).parent / "models")
    log_path = tmp_path_factory.mktemp("triton") / "tritonserver.log"
    proc = labtriton.start_triton(
        lab,
        PORTS,
        log_path,
        "--load-model=linear",
        "--load-model=broken",
        "--exit-on-error=false",
        "--strict-readiness=false",
        bucket=BUCKET,
    )
    try:
        labtriton.wait_ready(proc, URL)
        yield URL
    finally:
        labtriton.stop(proc)
