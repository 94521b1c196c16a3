"""Inbound stream limits on real meshd processes and real sockets: slow-loris connections and
floods of garbage connections do not keep a legitimate peer from its push-pull, and a peer
with another key is counted as `auth` (never `malformed`).

The attackers connect from other loopback addresses (127.0.0.2, 127.0.1.x) than the agents
(127.0.0.1), as an attacker on another host would."""

from __future__ import annotations

import base64
import contextlib
import os
import select
import socket
import struct
import threading
import time
from collections import deque
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.mesh_proc.harness import Meshd, all_alive, stop_all, wait_until


def metric(node: Meshd, name: str) -> float:
    """Sum of every sample of ``name`` (a family name, or one sample with its labels)."""
    text = node.request("GET", "/metrics").body.decode()
    total = 0.0
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        key, _, value = line.rpartition(" ")
        if key == name or key.startswith(name + "{"):
            total += float(value)
    return total


def shell(node: Meshd, reason: str) -> float:
    return metric(node, f'mesh_shell_errors_total{{reason="{reason}"}}')


def connect_from(source: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.settimeout(2.0)
        sock.bind((source, 0))
        sock.connect(("127.0.0.1", port))
    except OSError:
        sock.close()
        raise
    return sock


class SlowLoris:
    """``n`` connections spread over ``sources``: each sends a frame length, then one byte a
    second; one the server closes is opened again at once, so it holds whatever it gets."""

    def __init__(self, port: int, sources: list[str], n: int = 32) -> None:
        self.port, self.sources, self.n = port, sources, n
        self.connects = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> SlowLoris:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)

    def _run(self) -> None:
        socks: list[socket.socket | None] = [None] * self.n
        last: list[float] = [0.0] * self.n
        try:
            while not self._stop.is_set():
                for i in range(self.n):
                    sock = socks[i]
                    if sock is None:
                        with contextlib.suppress(OSError):
                            sock = connect_from(self.sources[i % len(self.sources)], self.port)
                            sock.sendall(struct.pack(">I", 1000))
                            socks[i], last[i] = sock, time.monotonic()
                            self.connects += 1
                        continue
                    try:
                        readable, _, _ = select.select([sock], [], [], 0)
                        if readable and not sock.recv(1):
                            raise ConnectionResetError("closed by the server")
                        if time.monotonic() - last[i] >= 1.0:
                            sock.send(b"x")
                            last[i] = time.monotonic()
                    except OSError:
                        sock.close()
                        socks[i] = None
                self._stop.wait(0.05)
        finally:
            for sock in socks:
                if sock is not None:
                    sock.close()


@pytest.fixture
def agents(tmp_path: Path) -> Iterator[tuple[Meshd, Meshd]]:
    """Agent a running with one key written; agent b (seeded with a) built, not started."""
    a = Meshd("sl-a", tmp_path)
    b = Meshd("sl-b", tmp_path, seeds=[a.gossip_port])
    try:
        a.start().wait_ready()
        assert a.put("before-b", {"from": "a"}).status == 200
        yield a, b
    finally:
        stop_all([a, b])


def joins_and_converges(a: Meshd, b: Meshd) -> None:
    """b joins a (a push-pull into a: the join is TCP only) and gets a's earlier write,
    then a write on b reaches a."""
    b.start().wait_ready()
    wait_until(lambda: b.get("before-b").status == 200, timeout=60)
    wait_until(lambda: all_alive([a, b]), timeout=60)
    assert b.put("after-join", 2).status == 200
    wait_until(lambda: a.get("after-join").status == 200, timeout=60)
    # not after retries: none of b's streams into a was refused or cut
    assert metric(b, 'mesh_drops_total{reason="stream_failed"}') == 0
    assert shell(a, "stream_rejected") == 0


@pytest.mark.parametrize(
    ("sources", "refusal"),
    [
        (["127.0.0.2"], "stream_refused_source"),
        ([f"127.0.1.{i}" for i in range(1, 33)], "stream_frame_timeout"),
    ],
    ids=["one-address", "32-addresses"],
)
def test_slow_loris_does_not_block_push_pull(
    agents: tuple[Meshd, Meshd], sources: list[str], refusal: str
) -> None:
    a, b = agents
    with SlowLoris(a.gossip_port, sources) as attack:
        wait_until(lambda: attack.connects >= 32, timeout=30)
        joins_and_converges(a, b)
        # the attackers were cut (per source, or at the frame deadline) and came back
        wait_until(lambda: shell(a, refusal) > 0, timeout=30)
        assert a.alive() and b.alive()


def test_garbage_flood_then_push_pull(agents: tuple[Meshd, Meshd]) -> None:
    a, b = agents
    held: deque[socket.socket] = deque()
    opened = 0
    try:
        for i in range(1800):
            with contextlib.suppress(OSError):
                sock = connect_from("127.0.0.2", a.gossip_port)
                # garbage: a frame length that lies, or bytes that are no frame at all
                sock.send(struct.pack(">I", 500) + os.urandom(i % 64) if i % 2 else os.urandom(3))
                held.append(sock)
                opened += 1
            while len(held) > 200:
                held.popleft().close()
        assert opened > 1000
        # right after, while the last 200 are still open: a legitimate peer joins
        joins_and_converges(a, b)
        assert shell(a, "stream_refused_source") > 0
    finally:
        for sock in held:
            sock.close()
    assert a.alive() and b.alive()


def key_file(path: Path) -> Path:
    path.write_text(base64.b64encode(os.urandom(32)).decode() + "\n")
    return path


def test_wrong_key_streams_count_as_auth(tmp_path: Path) -> None:
    a = Meshd("wk-a", tmp_path, key_file=key_file(tmp_path / "a.keys"))
    b = Meshd("wk-b", tmp_path, key_file=key_file(tmp_path / "b.keys"))
    a.seeds, b.seeds = [b.gossip_port], [a.gossip_port]  # each push-pulls into the other
    try:
        a.start()
        b.start()
        a.wait_ready()
        b.wait_ready()
        for node in (a, b):
            wait_until(lambda n=node: shell(n, "stream_unauthenticated") > 0, timeout=60)  # type: ignore[misc]
            wait_until(lambda n=node: metric(n, 'mesh_drops_total{reason="auth"}') > 0)  # type: ignore[misc]
        for node in (a, b):
            assert metric(node, 'mesh_drops_total{reason="malformed"}') == 0
            assert set(node.member_states()) == {node.host_id}
    finally:
        stop_all([a, b])


def test_limits_come_from_the_mesh_config(tmp_path: Path) -> None:
    """`[mesh] max_streams_per_source` and `stream_frame_timeout` reach the socket shell."""
    a = Meshd("cfg-a", tmp_path)
    a.mesh.update(max_streams_per_source=2, stream_frame_timeout=0.5)
    socks: list[socket.socket] = []
    try:
        a.start().wait_ready()
        socks = [connect_from("127.0.0.2", a.gossip_port) for _ in range(5)]
        wait_until(lambda: shell(a, "stream_refused_source") >= 3)
        wait_until(lambda: shell(a, "stream_frame_timeout") >= 2)
        assert shell(a, "stream_refused_source") == 3  # the two admitted were cut, not refused
    finally:
        for sock in socks:
            sock.close()
        stop_all([a])
