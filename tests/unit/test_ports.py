"""The test ports' registry: no port named twice, none of the lab's, and the closed port refuses."""

from __future__ import annotations

import socket
from collections import Counter

from tests.support import ports


def test_no_port_is_named_twice():
    repeated = [port for port, count in Counter(ports.every_fixed_port()).items() if count > 1]
    assert repeated == []


def test_no_fixed_port_is_one_the_lab_listens_on():
    assert set(ports.every_fixed_port()) & ports.LAB_PORTS == set()


def test_nothing_listens_on_the_closed_port():
    with socket.socket() as sock:
        sock.settimeout(2)
        assert sock.connect_ex(("127.0.0.1", ports.CLOSED_PORT)) != 0


def test_a_free_port_can_be_bound():
    port = ports.free_port()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))
    assert port not in ports.LAB_PORTS
