"""The local store on a real data dir: a restarted agent (a new store on the same dir)
gets its sessions back; a damaged file is set aside, counted and logged, never fatal."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from services.session.config import SessionConfig
from services.session.entries import ConnEntry, NatEntry, SessionPorts
from services.session.keys import ConnKey, FlowTuple
from services.session.local_store import FILE_NAME, LocalSessionStore
from services.session.nat import NatBinding, NatKind

P_IN = "00000000-0000-4000-8000-0000000000a1"
P_OUT = "00000000-0000-4000-8000-0000000000a2"
P_ELSE = "00000000-0000-4000-8000-0000000000a3"
DEV = "00000000-0000-4000-8000-0000000000d1"


class Clock:
    """A wall clock the test moves."""

    def __init__(self, t: float = 1_000_000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def conn(i: int, ingress: str = P_IN) -> ConnEntry:
    return ConnEntry(
        ConnKey(DEV, FlowTuple(6, 10, 1000 + i, 20, 80)), SessionPorts(ingress, (P_OUT,))
    )


def nat(i: int) -> NatEntry:
    b = NatBinding(FlowTuple(17, 10, 1000 + i, 8, 53), FlowTuple(17, 7, 2000 + i, 8, 53))
    return NatEntry(DEV, NatKind.SNAT, b, SessionPorts(P_IN, (P_OUT,)))


async def test_restart_keeps_sessions(tmp_path: Path) -> None:
    clock = Clock()
    cfg = SessionConfig(idle_timeout=60, local_flush_interval=0.05)
    store = LocalSessionStore(tmp_path, cfg, clock)
    await store.start()
    assert store.offer([conn(1), conn(2, P_ELSE), nat(3)]) == 3
    await store.close()  # writes the file
    assert (tmp_path / FILE_NAME).exists()
    assert not (tmp_path / (FILE_NAME + ".tmp")).exists()
    assert store.counters["store_rows_written"] == 3

    clock.t += 30  # the agent was down 30 s
    again = LocalSessionStore(tmp_path, cfg, clock)
    await again.start()
    try:
        r = await again.restore(P_IN)
        assert r.complete
        assert {e.key for e in r.entries} == {conn(1).key, nat(3).key}
        assert {e.key for e in (await again.restore(P_OUT)).entries} == {
            conn(1).key,
            conn(2).key,
            nat(3).key,
        }
        clock.t += 30  # 60 s since last offered: idled out, even across the restart
        assert (await again.restore(P_IN)).entries == ()
    finally:
        await again.close()


async def test_writer_task_writes_without_close(tmp_path: Path) -> None:
    store = LocalSessionStore(tmp_path, SessionConfig(local_flush_interval=0.02), Clock())
    await store.start()
    try:
        store.offer([conn(1)])
        for _ in range(200):
            if store.counters["store_rows_written"]:
                break
            await asyncio.sleep(0.01)
        assert store.counters["store_rows_written"] == 1
        # a crash now (no close) leaves a whole file behind
        fresh = LocalSessionStore(tmp_path, SessionConfig(), Clock())
        assert fresh.load() == 1
    finally:
        await store.close()


@pytest.mark.parametrize("damage", ["truncate", "flip", "garbage", "empty"])
async def test_corrupt_file_is_set_aside(
    tmp_path: Path, damage: str, caplog: pytest.LogCaptureFixture
) -> None:
    clock = Clock()
    store = LocalSessionStore(tmp_path, SessionConfig(), clock)
    store.offer([conn(i) for i in range(5)])
    await store.flush()
    path = tmp_path / FILE_NAME
    raw = bytearray(path.read_bytes())
    if damage == "truncate":
        raw = raw[: len(raw) // 2]
    elif damage == "flip":
        raw[len(raw) // 2] ^= 0xFF
    elif damage == "garbage":
        raw = bytearray(b"not a session file at all")
    else:
        raw = bytearray()
    path.write_bytes(bytes(raw))

    again = LocalSessionStore(tmp_path, SessionConfig(), clock)
    with caplog.at_level(logging.WARNING, logger="services.session.local_store"):
        await again.start()
    try:
        assert again.counters["store_corrupt_files"] == 1
        assert any("ignored" in r.getMessage() for r in caplog.records)
        assert (tmp_path / (FILE_NAME + ".corrupt")).read_bytes() == bytes(raw)
        assert (await again.restore(P_IN)).entries == ()
        again.offer([conn(9)])  # and it goes on working
        assert await again.flush()
    finally:
        await again.close()
    assert LocalSessionStore(tmp_path, SessionConfig(), clock).load() == 1


async def test_bound_evicts_and_counts(tmp_path: Path) -> None:
    store = LocalSessionStore(tmp_path, SessionConfig(max_entries=2), Clock())
    store.offer([conn(1), conn(2), conn(3)])
    assert len(store) == 2
    assert store.counters.get("store_rows_dropped", ("evicted",)) == 1
