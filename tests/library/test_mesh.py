"""The library's front door as users run it: several Mesh members in one process on
127.0.0.1 with port 0, real UDP and TCP sockets."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

import mesh
from crdt import AWSet, LWWRegister, ORMap
from mesh import MemberChanged, MemberState, Mesh, TableChanged


def inventory() -> ORMap:
    return ORMap(LWWRegister)


@contextlib.asynccontextmanager
async def trio(**kwargs: object) -> AsyncIterator[list[Mesh]]:
    first = Mesh("a", bind="127.0.0.1:0", config="local", **kwargs)  # type: ignore[arg-type]
    await first.start()
    rest = [
        Mesh(h, bind="127.0.0.1:0", seeds=[first.address], config="local", **kwargs)  # type: ignore[arg-type]
        for h in ("b", "c")
    ]
    try:
        for m in rest:
            await m.start()
        yield [first, *rest]
    finally:
        for m in reversed([first, *rest]):
            await m.close()


def states(m: Mesh) -> dict[str, str]:
    return {x.meta.host_id: x.state.value for x in m.members()}


async def until(cond: object, timeout: float) -> None:
    async with asyncio.timeout(timeout):
        while not cond():  # type: ignore[operator]
            await asyncio.sleep(0.02)


async def test_put_and_delete_seen_by_the_others_within_a_second() -> None:
    async with trio() as members:
        tables = [m.table("inventory", inventory) for m in members]
        await until(lambda: all(len(states(m)) == 3 for m in members), 5)
        assert all(set(states(m).values()) == {"alive"} for m in members)
        tables[0].put("apples", 3)
        for t in tables[1:]:
            await t.wait(lambda t: t.get("apples") == 3, timeout=1.0)
        tables[2].delete("apples")
        for t in tables[:2]:
            await t.wait(lambda t: "apples" not in t, timeout=1.0)
        assert tables[0].get() == {}


async def test_leaving_shows_left() -> None:
    async with trio() as members:
        await until(lambda: all(len(states(m)) == 3 for m in members), 5)
        await members[2].close()
        await until(lambda: states(members[0]).get("c") == "left", 3)
        await until(lambda: states(members[1]).get("c") == "left", 3)
        assert states(members[0])["a"] == "alive"


async def test_members_with_different_keys_never_see_each_others_data() -> None:
    one = Mesh("k1", bind="127.0.0.1:0", config="local", key=os.urandom(16))
    await one.start()
    other = Mesh("k2", bind="127.0.0.1:0", config="local", key=os.urandom(16), seeds=[one.address])
    try:
        await other.start()
        t1 = one.table("inventory", inventory)
        t2 = other.table("inventory", inventory)
        t1.put("secret", 1)
        t2.put("other", 2)
        with pytest.raises(TimeoutError):
            await t2.wait(lambda t: t.get("secret") is not None, timeout=1.5)
        assert t1.get() == {"secret": 1} and t2.get() == {"other": 2}
        assert [x.meta.host_id for x in one.members()] == ["k1"]
        assert [x.meta.host_id for x in other.members()] == ["k2"]
        assert one.metrics().get("drops.auth", 0) + other.metrics().get("drops.auth", 0) > 0
    finally:
        await other.close()
        await one.close()


async def test_changes_events_and_wait_replicated() -> None:
    async with trio() as members:
        a, b, c = members
        ta, tb = a.table("inventory", inventory), b.table("inventory", inventory)
        c.table("inventory", inventory)
        await until(lambda: all(len(states(m)) == 3 for m in members), 5)
        events = b.events()
        seen_keys: list[frozenset[object]] = []

        async def watch() -> None:
            async for keys in tb.changes():
                seen_keys.append(keys)
                if "pears" in keys:
                    return

        watcher = asyncio.create_task(watch())
        await asyncio.sleep(0)
        ta.put("pears", 5)
        assert await a.wait_replicated(2, timeout=5.0) >= 2
        await asyncio.wait_for(watcher, 2.0)
        assert any("pears" in k for k in seen_keys)
        ev = await asyncio.wait_for(anext(events), 2.0)
        assert isinstance(ev, TableChanged | MemberChanged)
        await events.aclose()
        with pytest.raises(mesh.ReplicationTimeout) as info:
            ta.put("plums", 1)
            await a.wait_replicated(5, timeout=0.5)
        assert info.value.wanted == 5 and info.value.held == 2


async def test_a_non_map_table_and_member_events() -> None:
    a = Mesh("solo", bind="127.0.0.1:0", config="local")
    tags = a.table("tags", AWSet)
    with pytest.raises(mesh.NotStarted):
        tags.get()
    async with a:
        events = a.events()
        tags.mutate(lambda s: s.add(tags.replica_id, "x"))
        assert tags.get() == {"x"}
        first = await asyncio.wait_for(anext(events), 2.0)
        assert isinstance(first, MemberChanged | TableChanged)
        assert a.members()[0].state is MemberState.ALIVE
        await events.aclose()


async def test_bad_arguments_name_the_field(tmp_path: Path) -> None:
    cases = [
        ({"bind": "nonsense:xx"}, "bind"),
        ({"seeds": ["1.2.3.4:99999"]}, "seeds"),
        ({"key": b"short"}, "key"),
        ({"key": str(tmp_path / "missing.key")}, "key"),
        ({"config": "moon"}, "config"),
        ({"bind": "0.0.0.0:0"}, "bind"),
        ({"snapshot_interval": -1}, "snapshot_interval"),
    ]
    for kwargs, field in cases:
        with pytest.raises(mesh.ConfigError) as info:
            Mesh("x", **kwargs)  # type: ignore[arg-type]
        assert info.value.field == field, kwargs
        assert str(info.value).startswith(field), str(info.value)
    with pytest.raises(mesh.ConfigError) as info:
        Mesh("has space")
    assert info.value.field == "host_id"


async def test_bind_failure_is_a_bind_error() -> None:
    async with Mesh("first", bind="127.0.0.1:0", config="local") as first:
        clash = Mesh("second", bind=first.address, config="local")
        with pytest.raises(mesh.BindError) as info:
            await clash.start()
        assert first.address in str(info.value)
        assert isinstance(info.value, OSError)
        await clash.close()


async def test_garbage_from_a_peer_is_counted_not_raised() -> None:
    import socket

    async with Mesh("target", bind="127.0.0.1:0", config="local") as m:
        t = m.table("inventory", inventory)
        host, port = m.address.rsplit(":", 1)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            for payload in (b"", b"\x00" * 10, os.urandom(200), b"\x93\x01\x02\x03"):
                s.sendto(payload, (host, int(port)))
        await until(
            lambda: sum(v for k, v in m.metrics().items() if k.startswith("drops.")) >= 3, 3
        )
        t.put("still", "works")
        assert t.get("still") == "works"


async def test_data_dir_restores_writes_after_a_crash(tmp_path: Path) -> None:
    data = tmp_path / "d"
    m = Mesh("durable", bind="127.0.0.1:0", config="local", data_dir=data)
    await m.start()
    t = m.table("inventory", inventory)
    for i in range(50):
        t.put(f"k{i}", i)
    await m.flush()
    # A crash: no close(), no final snapshot; only the write-ahead log holds the writes.
    assert m._driver is not None
    for task in m._tasks:
        task.cancel()
    await m._driver.close()
    again = Mesh("durable", bind="127.0.0.1:0", config="local", data_dir=data)
    t2 = again.table("inventory", inventory)
    async with again:
        assert t2.get() == {f"k{i}": i for i in range(50)}
        assert again.restored is not None and again.restored.log_records >= 50
    third = Mesh("durable", bind="127.0.0.1:0", config="local", data_dir=data)
    async with third:  # after a clean close the snapshot holds it, the old log is gone
        assert third.table("inventory", inventory).get() == {f"k{i}": i for i in range(50)}
    with pytest.raises(mesh.ConfigError) as info:
        await Mesh("intruder", bind="127.0.0.1:0", data_dir=data).start()
    assert info.value.field == "data_dir"
