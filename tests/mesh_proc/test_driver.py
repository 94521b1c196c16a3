"""The asyncio shell against its contract, in one process with real sockets: a scripted
core records what the driver hands it (datagrams, stream requests, stream replies or None on
failure) and the driver must survive a core that raises."""

from __future__ import annotations

import asyncio
import struct
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mesh.outputs import OpenStream, SendDatagram
from mesh.transport import NodeDriver, TransportSettings
from mesh.transport.framing import FrameError, encode_frame, read_frame


@dataclass
class ScriptedNode:
    """A stand-in core: emits queued outputs on the next tick and records every input."""

    pending: list[Any] = field(default_factory=list)
    datagrams: list[tuple[tuple[str, int], bytes]] = field(default_factory=list)
    requests: list[bytes] = field(default_factory=list)
    responses: dict[int, bytes | None] = field(default_factory=dict)
    ticks: int = 0
    reply: bytes = b"pong"
    explode: bool = False
    deadline: float = float("inf")

    def tick(self, now: float) -> list[Any]:
        self.ticks += 1
        out, self.pending = self.pending, []
        return out

    def next_deadline(self) -> float:
        return self.deadline

    def receive_datagram(self, now: float, src: tuple[str, int], payload: bytes) -> list[Any]:
        if self.explode:
            raise RuntimeError("core bug")
        self.datagrams.append((src, payload))
        return []

    def handle_stream_request(self, now: float, src: tuple[str, int], request: bytes) -> bytes:
        if self.explode:
            raise RuntimeError("core bug")
        self.requests.append(request)
        return self.reply + request

    def handle_stream_response(
        self, now: float, stream_id: int, response: bytes | None
    ) -> list[Any]:
        self.responses[stream_id] = response
        return []

    def drain_events(self) -> list[Any]:
        return []


async def until(cond: Any, timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not cond():
            await asyncio.sleep(0.01)


async def started(node: ScriptedNode, **settings: Any) -> NodeDriver:
    driver = NodeDriver(("127.0.0.1", 0), TransportSettings(**settings))
    await driver.bind()
    driver.attach(node)
    driver.start()
    return driver


async def test_datagrams_and_streams_between_two_drivers() -> None:
    a, b = ScriptedNode(), ScriptedNode()
    da, db = await started(a), await started(b)
    try:
        a.pending = [
            SendDatagram(db.bound_address, b"hello"),
            OpenStream(db.bound_address, b"req", 7),
        ]
        da.wake()
        await until(lambda: b.datagrams and 7 in a.responses)
        assert b.datagrams[0] == (da.bound_address, b"hello")
        assert b.requests == [b"req"]
        assert a.responses[7] == b"pongreq"
    finally:
        await da.close()
        await db.close()


async def test_failed_streams_report_none() -> None:
    a = ScriptedNode()
    da = await started(a, stream_timeout=0.5, max_stream_bytes=1000)
    # A port nobody listens on, and a server that accepts but never answers.
    silent = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    silent_addr = silent.sockets[0].getsockname()[:2]
    b = ScriptedNode(reply=b"x" * 5000)  # replies larger than a's frame limit
    db = await started(b)
    dead = NodeDriver(("127.0.0.1", 0))
    dead_addr = await dead.bind()
    await dead.close()
    try:
        a.pending = [
            OpenStream(dead_addr, b"r1", 1),
            OpenStream(silent_addr, b"r2", 2),
            OpenStream(db.bound_address, b"r3", 3),
            OpenStream(db.bound_address, b"y" * 2000, 4),  # request over the limit
        ]
        da.wake()
        await until(lambda: len(a.responses) == 4)
        assert a.responses == {1: None, 2: None, 3: None, 4: None}
        assert da.counters.counts["stream_out_error"] == 4
    finally:
        silent.close()
        await da.close()
        await db.close()


async def test_core_exceptions_do_not_stop_the_driver() -> None:
    a, b = ScriptedNode(explode=True), ScriptedNode()
    da, db = await started(a), await started(b)
    try:
        b.pending = [SendDatagram(da.bound_address, b"boom"), OpenStream(da.bound_address, b"q", 1)]
        db.wake()
        await until(lambda: 1 in b.responses and da.counters.counts.get("core_exception", 0) >= 2)
        assert b.responses[1] is None
        a.explode = False
        b.pending = [SendDatagram(da.bound_address, b"fine")]
        db.wake()
        await until(lambda: a.datagrams)
        assert a.datagrams[0][1] == b"fine"
    finally:
        await da.close()
        await db.close()


async def test_tick_runs_at_the_deadline_and_mtu_is_enforced() -> None:
    a = ScriptedNode()
    da = await started(a, mtu=100)
    try:
        before = a.ticks
        a.deadline = da.now() + 0.2
        da.wake()
        await until(lambda: a.ticks >= before + 2)
        a.pending = [SendDatagram(("127.0.0.1", 9), b"z" * 101)]
        a.deadline = da.now()
        da.wake()
        await until(lambda: da.counters.counts.get("datagram_over_mtu") == 1)
    finally:
        await da.close()


@given(data=st.binary(max_size=64), limit=st.integers(min_value=0, max_value=40))
def test_read_frame_never_crashes(data: bytes, limit: int) -> None:
    async def go() -> bytes | None:
        reader = asyncio.StreamReader()
        reader.feed_data(data)
        reader.feed_eof()
        try:
            return await read_frame(reader, limit)
        except FrameError:
            return None

    got = asyncio.run(go())
    if got is not None:
        (length,) = struct.unpack(">I", data[:4])
        assert got == data[4 : 4 + length] and length <= limit


@pytest.mark.parametrize("payload", [b"", b"a", b"x" * 1000])
async def test_frame_roundtrip(payload: bytes) -> None:
    reader = asyncio.StreamReader()
    reader.feed_data(encode_frame(payload))
    assert await read_frame(reader, 1000) == payload
