"""The lab's Triton release tarball installs into a bare node container the way
Triton's Jetson tarballs are installed: download from the artifact server,
verify the sha256, unpack to /opt, add the python backend's two packages, run."""

from __future__ import annotations

import time

import pytest

from tests.support.nodes import docker

pytestmark = pytest.mark.lab


@pytest.fixture
def node(lab, node_factory):
    return node_factory("triton", "-v", f"{lab['TRITON_MODELS']}:/srv/models:ro")


@pytest.mark.timeout(900)
def test_tarball_installs_and_serves_in_a_node(lab, node):
    version, arch = lab["TRITON_VERSION"], lab["TRITON_ARCH"]
    name = f"tritonserver-{version}-{arch}.tar.gz"
    url = f"{lab['ARTIFACTS_NODE_URL']}/tritonserver/{version}"
    install = (
        "set -e; mkdir -p /root/dl; cd /root/dl; "
        f"curl -fsSO {url}/{name}; curl -fsS {url}/sha256sum-amd64.txt | grep ' {name}$' | sha256sum -c -; "
        f"tar -C /opt -xzf /root/dl/{name}; "
        "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "
        "libpython3.11 python3-numpy >/dev/null"
    )
    result = docker("exec", node, "sh", "-c", install, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{name}: OK" in result.stdout

    serve = (
        "LD_LIBRARY_PATH=/opt/tritonserver/lib nohup /opt/tritonserver/bin/tritonserver "
        "--backend-directory=/opt/tritonserver/backends --cache-directory=/opt/tritonserver/caches "
        "--model-repository=/srv/models --model-control-mode=explicit --load-model=linear "
        "--http-port=8000 --grpc-port=8001 --metrics-port=8002 >/var/log/tritonserver.log 2>&1 &"
    )
    docker("exec", node, "sh", "-c", serve)
    deadline = time.monotonic() + 180
    while docker("exec", node, "curl", "-fsS", "localhost:8000/v2/models/linear/ready", check=False).returncode:
        if time.monotonic() > deadline:
            log = docker("exec", node, "cat", "/var/log/tritonserver.log", check=False).stdout
            pytest.fail(f"tritonserver in the node never got linear ready:\n{log[-6000:]}")
        time.sleep(1)
    answer = docker(
        "exec",
        node,
        "curl",
        "-fsS",
        "-X",
        "POST",
        "localhost:8000/v2/models/linear/infer",
        "-H",
        "Content-Type: application/json",
        "-d",
        '{"inputs":[{"name":"INPUT0","shape":[2,1],"datatype":"FP32","data":[1,2.5]}]}',
    ).stdout
    assert '"data":[3.0,6.0]' in answer, answer
