"""Garbage on the gossip port (UDP datagrams, TCP frames) never takes a meshd down; it is
dropped and counted, and the mesh keeps working."""

from __future__ import annotations

import socket
import struct
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.mesh_proc.harness import Meshd, all_alive, start_cluster, stop_all, wait_until


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Meshd]]:
    nodes = start_cluster(tmp_path_factory.mktemp("garbage"), 2, prefix="g")
    try:
        wait_until(lambda: all_alive(nodes), timeout=60)
        yield nodes
    finally:
        stop_all(nodes)


def metric(node: Meshd, prefix: str) -> float:
    text = node.request("GET", "/metrics").body.decode()
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith(prefix) and not line.startswith("#")
    )


@settings(max_examples=100, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(payload=st.binary(min_size=1, max_size=1400))
def test_udp_garbage(pair: list[Meshd], payload: bytes) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.sendto(payload, ("127.0.0.1", pair[0].gossip_port))


def stream_exchange(port: int, data: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=15) as sock:
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)
        out = b""
        try:
            while chunk := sock.recv(65536):
                out += chunk
        except (TimeoutError, ConnectionResetError):
            pass
        return out


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.binary(max_size=2000), lie=st.integers(min_value=0, max_value=2**32 - 1))
def test_tcp_garbage(pair: list[Meshd], body: bytes, lie: int) -> None:
    port = pair[0].gossip_port
    # A well-framed garbage request, then a frame whose header lies about its length.
    stream_exchange(port, struct.pack(">I", len(body)) + body)
    stream_exchange(port, struct.pack(">I", lie) + body[:100])


def test_still_healthy_and_counted(pair: list[Meshd]) -> None:
    a, b = pair
    assert a.alive() and b.alive()
    # Oversized frame headers and cut-short frames are counted by the shell...
    assert metric(a, 'mesh_shell_errors_total{reason="stream_in_error"}') > 0
    # ...and undecodable datagrams by the core.
    assert metric(a, "mesh_drops_total") > 0
    assert a.put("still-works", True).status == 200
    wait_until(lambda: b.get("still-works").status == 200)
    assert all_alive(pair)
