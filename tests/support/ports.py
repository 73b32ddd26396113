"""The one registry of the fixed TCP ports tests use, so no two tests (or a test and the lab) pick the same.

Each Triton a test starts on the host gets its three ports (HTTP, gRPC, metrics) here, by the
fixture or file that owns it; ``CLOSED_PORT`` is where nothing listens (an unreachable server);
``free_port()`` is for a port no one else needs to know in advance. ``tests/unit/test_ports.py``
checks that the names share no port, that none is one of the lab's, and that ``CLOSED_PORT`` refuses.
"""

from __future__ import annotations

import socket

# What the lab's parts listen on, on this host (lab/parts/*.sh): etcd, the API server and its
# controllers, the artifact server, MinIO (plain and TLS).
LAB_PORTS = frozenset({2379, 2380, 6443, 8088, 9000, 9443, 10257, 10259})

# Nothing listens here: the port of every "server down" case.
CLOSED_PORT = 18399

# Triton processes the tests start on the host: (HTTP, gRPC, metrics), by owner.
TRITON = {
    # tests/integration/conftest.py: the shared `triton` fixture
    "shared": (18300, 18301, 18302),
    # tests/integration/site/test_verify_runner.py
    "verify_runner": (18310, 18311, 18312),
    # tests/integration/modules/test_model_repository_triton.py
    "model_repository_triton": (18400, 18401, 18402),
    # tests/integration/roles/test_model_repository_role.py
    "model_repository_role": (18410, 18411, 18412),
    # tests/integration/faults/test_faults_publish.py
    "faults_publish": (18460, 18461, 18462),
    # tests/integration/lab/test_lab_triton.py
    "lab_triton": (18000, 18001, 18002),
}

# The MinIO tests/integration/faults/test_faults_publish.py starts, kills and restarts.
FAULTS_MINIO_PORT = 18950


def every_fixed_port() -> list[int]:
    """Every port named above, with repeats (the unit test looks for them)."""
    return [CLOSED_PORT, FAULTS_MINIO_PORT, *(port for triple in TRITON.values() for port in triple)]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (the OS's pick)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
