"""Garbage on the gossip port (UDP datagrams, TCP frames) never takes a meshd down; it is
dropped and counted, and the mesh keeps working."""

from __future__ import annotations

import socket
import struct
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
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


def test_udp_garbage_is_dropped_and_counted(pair: list[Meshd]) -> None:
    a, b = pair
    drops = metric(a, "mesh_drops_total")

    @settings(max_examples=100, deadline=None)
    @given(payload=st.binary(min_size=1, max_size=1400))
    def send(payload: bytes) -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.sendto(payload, ("127.0.0.1", a.gossip_port))

    send()
    # undecodable datagrams are counted by the core, and the node keeps working
    wait_until(lambda: metric(a, "mesh_drops_total") > drops)
    assert a.alive() and b.alive()
    assert a.put("after-udp-garbage", 1).status == 200
    wait_until(lambda: b.get("after-udp-garbage").status == 200)
    assert all_alive(pair)


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


def test_tcp_garbage_is_dropped_and_counted(pair: list[Meshd]) -> None:
    a, b = pair
    stream_errors = 'mesh_shell_errors_total{reason="stream_in_error"}'
    cut_short = metric(a, stream_errors)
    drops = metric(a, "mesh_drops_total")

    @settings(max_examples=40, deadline=None)
    @given(body=st.binary(max_size=2000), lie=st.integers(min_value=101, max_value=2**32 - 1))
    def send(body: bytes, lie: int) -> None:
        # A well-framed garbage request, then a frame whose header claims more than is sent.
        stream_exchange(a.gossip_port, struct.pack(">I", len(body)) + body)
        stream_exchange(a.gossip_port, struct.pack(">I", lie) + body[:100])

    send()
    # oversized or cut-short frames are counted by the shell, garbage requests by the core
    wait_until(lambda: metric(a, stream_errors) > cut_short)
    wait_until(lambda: metric(a, "mesh_drops_total") > drops)
    assert a.alive() and b.alive()
    assert a.put("after-tcp-garbage", 1).status == 200
    wait_until(lambda: b.get("after-tcp-garbage").status == 200)
    assert all_alive(pair)
