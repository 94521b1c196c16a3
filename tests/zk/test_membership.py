"""ZkMembership against a real standalone ZooKeeper: join, leave, crash, expiry, partition."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from kazoo.client import KazooClient

from mesh.zk import AsyncZkMembership, ZkError, ZkMembership
from tests.zk.conftest import SESSION_TIMEOUT, eventually, expire_session
from tests.zk.tcpproxy import TcpProxy
from tests.zk.zkserver import ZkCluster

pytestmark = pytest.mark.zookeeper


@pytest.fixture
def make_member(zk_single: ZkCluster, zk_root: str) -> Iterator:
    made: list[ZkMembership] = []

    def make(host_id: str, hosts: str | KazooClient | None = None, **meta: object) -> ZkMembership:
        m = ZkMembership(
            hosts or zk_single.hosts,
            host_id,
            {"underlay": f"10.0.0.{len(made) + 1}", **meta},
            root=zk_root,
            session_timeout=SESSION_TIMEOUT,
        )
        made.append(m)
        m.start()
        return m

    yield make
    for m in made:
        m.stop()


def test_members_see_each_other_and_leave(make_member) -> None:
    a, b, c = make_member("a"), make_member("b"), make_member("c")
    for m in (a, b, c):
        eventually(lambda m=m: set(m.members()) == {"a", "b", "c"}, f"{m.host_id} sees all")
    assert a.members()["b"] == {"underlay": "10.0.0.2"}
    seen: list[set[str]] = []
    a.on_change(lambda ms: seen.append(set(ms)))
    b.stop()
    eventually(lambda: set(a.members()) == {"a", "c"}, "a sees b gone")
    eventually(lambda: set(c.members()) == {"a", "c"}, "c sees b gone")
    assert seen and seen[-1] == {"a", "c"}


def test_metadata_update_is_seen(make_member) -> None:
    a, b = make_member("a"), make_member("b")
    b.update_meta({"underlay": "192.0.2.7", "api": ["127.0.0.1", 7946]})
    eventually(lambda: a.members().get("b", {}).get("underlay") == "192.0.2.7", "new meta")
    assert a.members()["b"]["api"] == ["127.0.0.1", 7946]


def test_crashed_member_goes_when_its_session_closes(make_member, zk_single) -> None:
    client = KazooClient(hosts=zk_single.hosts, timeout=SESSION_TIMEOUT)
    client.start(timeout=15)
    a = make_member("a")
    make_member("crashy", hosts=client)
    eventually(lambda: "crashy" in a.members(), "a sees crashy")
    client.stop()  # the process dies without a graceful leave: only the session ends
    client.close()
    eventually(lambda: "crashy" not in a.members(), "a sees crashy gone")


def test_stale_node_of_a_previous_session_is_replaced(make_member, zk_single, zk_root) -> None:
    old = KazooClient(hosts=zk_single.hosts, timeout=SESSION_TIMEOUT)
    old.start(timeout=15)
    old.create(f"{zk_root}/members/h1", b'{"underlay":"old"}', ephemeral=True, makepath=True)
    try:
        h1 = make_member("h1")
        assert h1.counters["stale_replaced"] == 1
        _, stat = h1.client.get(f"{zk_root}/members/h1")
        assert stat.ephemeralOwner == h1.client.client_id[0]
        eventually(lambda: h1.members().get("h1", {}).get("underlay") == "10.0.0.1", "own meta")
    finally:
        old.stop()
        old.close()


def test_expired_session_reregisters(make_member, zk_single, zk_root) -> None:
    a, b = make_member("a"), make_member("b")
    eventually(lambda: set(a.members()) == {"a", "b"}, "a sees b")
    old_session = b.client.client_id[0]
    expire_session(b.client, zk_single.hosts)
    eventually(lambda: b.counters["registrations"] == 2, "b registered again")
    _, stat = a.client.get(f"{zk_root}/members/b")
    assert stat.ephemeralOwner == b.client.client_id[0] != old_session
    eventually(lambda: set(a.members()) == {"a", "b"}, "a sees b again")
    eventually(lambda: set(b.members()) == {"a", "b"}, "b sees both again")


def test_partitioned_member_expires_then_returns(make_member, zk_single) -> None:
    """A host cut off past its session timeout disappears for the others, and comes back
    (new session, re-registered) once the network returns."""
    server = zk_single.servers[0]
    proxy = TcpProxy(("127.0.0.1", server.client_port))
    try:
        a = make_member("a")
        b = make_member("b", hosts=proxy.address)
        eventually(lambda: set(a.members()) == {"a", "b"}, "a sees b")
        history: list[set[str]] = []
        a.on_change(lambda ms: history.append(set(ms)))
        proxy.cut()
        eventually(lambda: not b.connected, "b disconnected")
        eventually(lambda: "b" not in a.members(), "a sees b expire", timeout=4 * SESSION_TIMEOUT)
        assert history[-1] == {"a"}
        proxy.restore()
        eventually(lambda: b.connected, "b reconnected")
        eventually(lambda: set(a.members()) == {"a", "b"}, "a sees b back")
        assert b.counters["registrations"] == 2
        b.stop()  # while the proxy still forwards
    finally:
        proxy.close()


def test_start_fails_cleanly_without_server() -> None:
    m = ZkMembership("127.0.0.1:1", "x", {}, connect_timeout=1.0)
    with pytest.raises(ZkError, match="did not start"):
        m.start()


def test_bad_member_data_is_counted_not_fatal(make_member, zk_root) -> None:
    a = make_member("a")
    a.client.create(f"{zk_root}/members/garbage", b"\xff\x00not json")
    make_member("b")
    eventually(lambda: set(a.members()) == {"a", "b"}, "a sees b, not garbage")
    assert a.counters["bad_member_data"] >= 1


async def test_async_wrapper_delivers_on_the_loop(zk_single: ZkCluster, zk_root: str) -> None:
    loop = asyncio.get_running_loop()
    a = AsyncZkMembership(zk_single.hosts, "a", {"n": 1}, root=zk_root, session_timeout=4.0)
    b = AsyncZkMembership(zk_single.hosts, "b", {"n": 2}, root=zk_root, session_timeout=4.0)
    await a.start()
    threads: list[bool] = []
    a.on_change(lambda _m: threads.append(asyncio.get_running_loop() is loop))
    try:
        await b.start()
        got = await a.wait_for(lambda ms: set(ms) == {"a", "b"}, timeout=30)
        assert got["b"] == {"n": 2}
        await b.stop()
        await a.wait_for(lambda ms: set(ms) == {"a"}, timeout=30)
        assert threads and all(threads)
    finally:
        await b.stop()
        await a.stop()


def test_stop_while_partitioned_returns_and_node_expires(make_member, zk_single) -> None:
    proxy = TcpProxy(("127.0.0.1", zk_single.servers[0].client_port))
    try:
        a = make_member("a")
        b = make_member("b", hosts=proxy.address)
        eventually(lambda: set(a.members()) == {"a", "b"}, "a sees b")
        proxy.cut()
        eventually(lambda: not b.connected, "b disconnected")
        b.stop()  # returns although ZooKeeper is unreachable
        eventually(lambda: "b" not in a.members(), "b's node gone with its session")
    finally:
        proxy.close()


def test_deleted_own_node_is_restored(make_member, zk_root) -> None:
    a, b = make_member("a"), make_member("b")
    eventually(lambda: set(a.members()) == {"a", "b"}, "a sees b")
    a.client.delete(f"{zk_root}/members/b")
    eventually(lambda: b.counters["registrations"] == 2, "b put its node back")
    eventually(lambda: set(a.members()) == {"a", "b"}, "a sees b again")
