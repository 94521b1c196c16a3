"""LeaseManager against a real standalone ZooKeeper: exclusivity, fencing, TTL, session loss."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from kazoo.exceptions import NoAuthError

from mesh.zk import Lease, LeaseManager, ZkError
from mesh.zk.codec import decode_lease
from tests.zk.conftest import SESSION_TIMEOUT, eventually, expire_session
from tests.zk.tcpproxy import TcpProxy
from tests.zk.zkserver import ZkCluster

pytestmark = pytest.mark.zookeeper


@pytest.fixture
def make_manager(zk_single: ZkCluster, zk_root: str) -> Iterator:
    made: list[LeaseManager] = []

    def make(holder: str, hosts: str | None = None) -> LeaseManager:
        m = LeaseManager(
            hosts or zk_single.hosts,
            root=f"{zk_root}/leases",
            holder=holder,
            session_timeout=SESSION_TIMEOUT,
        )
        m.start()
        made.append(m)
        return m

    yield make
    for m in made:
        m.close()


class LostLog:
    """Collects on_lost calls (made on the manager's worker thread)."""

    def __init__(self) -> None:
        self.lost: list[Lease] = []
        self.event = threading.Event()

    def __call__(self, lease: Lease) -> None:
        self.lost.append(lease)
        self.event.set()


def test_lease_is_exclusive_and_tokens_increase(make_manager) -> None:
    m1, m2 = make_manager("h1"), make_manager("h2")
    l1 = m1.acquire("snat-block-1", ttl=30)
    assert l1 is not None and l1.valid and l1.holder == "h1"
    assert m2.acquire("snat-block-1", ttl=30) is None
    assert m1.acquire("snat-block-1", ttl=30) is None  # not re-entrant
    l1.release()
    assert not l1.valid
    l2 = m2.acquire("snat-block-1", ttl=30)
    assert l2 is not None and l2.holder == "h2"
    assert l2.fencing_token > l1.fencing_token
    tokens, current = [l1.fencing_token, l2.fencing_token], l2
    for i in range(4):
        current.release()
        nxt = (m1 if i % 2 == 0 else m2).acquire("snat-block-1", ttl=30)
        assert nxt is not None
        tokens.append(nxt.fencing_token)
        current = nxt
    assert tokens == sorted(tokens) and len(set(tokens)) == len(tokens)


def test_different_names_are_independent(make_manager) -> None:
    m1, m2 = make_manager("h1"), make_manager("h2")
    a = m1.acquire("uplink-a", ttl=30)
    b = m2.acquire("uplink-b", ttl=30)
    assert a is not None and b is not None
    assert set(m1.held()) == {"uplink-a"} and set(m2.held()) == {"uplink-b"}


def test_renewed_lease_is_kept_past_its_first_ttl(make_manager) -> None:
    m1, m2 = make_manager("h1"), make_manager("h2")
    lease = m1.acquire("duty", ttl=3.0)
    assert lease is not None
    time.sleep(2.0)
    assert lease.renew()
    time.sleep(2.0)  # 4 s after acquisition, 2 s after renewal
    assert m2.acquire("duty", ttl=3.0) is None
    assert lease.valid


def test_unrenewed_lease_is_taken_over_and_holder_told(make_manager) -> None:
    m1, m2 = make_manager("h1"), make_manager("h2")
    lost = LostLog()
    l1 = m1.acquire("duty", ttl=1.0, on_lost=lost)
    assert l1 is not None
    assert m2.acquire("duty", ttl=1.0) is None
    l2 = m2.acquire_wait("duty", ttl=30, timeout=20)
    assert l2 is not None and l2.fencing_token > l1.fencing_token
    assert lost.event.wait(20), "holder not told of the takeover"
    assert lost.lost == [l1] and l1.lost and not l1.valid
    assert not l1.renew()
    data, _ = m2.client.get(f"{m2.root}/duty")
    assert decode_lease(data).holder == "h2"
    assert m2.counters["taken_over"] == 1


def test_deposed_holder_cannot_write_the_successors_node(make_manager) -> None:
    m1, m2 = make_manager("h1"), make_manager("h2")
    l2 = m2.acquire("duty", ttl=30)
    assert l2 is not None
    with pytest.raises(NoAuthError):
        m1.client.set(f"{m1.root}/duty", b'{"holder":"h1","ttl":30,"expires_at":0}')


def test_session_expiry_loses_the_lease(make_manager, zk_single) -> None:
    m1, m2 = make_manager("h1"), make_manager("h2")
    lost = LostLog()
    l1 = m1.acquire("uplink", ttl=60, on_lost=lost)
    assert l1 is not None
    expire_session(m1.client, zk_single.hosts)
    assert lost.event.wait(30), "holder not told of the session loss"
    assert lost.lost == [l1] and not l1.valid and not l1.renew()
    l2 = m2.acquire_wait("uplink", ttl=60, timeout=20)  # the node went with the session
    assert l2 is not None and l2.fencing_token > l1.fencing_token
    eventually(lambda: m1.connected, "h1 reconnected with a new session")
    assert m1.acquire("uplink", ttl=60) is None


def test_suspension_loses_the_lease_and_frees_it_after_reconnect(make_manager, zk_single) -> None:
    """Conservative: a disconnected holder gives its leases up at once; when it reconnects
    within its session, it deletes the nodes it gave up, so nobody waits for the TTL."""
    proxy = TcpProxy(("127.0.0.1", zk_single.servers[0].client_port))
    try:
        m1, m2 = make_manager("h1", hosts=proxy.address), make_manager("h2")
        lost = LostLog()
        l1 = m1.acquire("edge", ttl=600, on_lost=lost)
        assert l1 is not None
        session = m1.client.client_id[0]
        proxy.cut()
        assert lost.event.wait(30), "holder not told of the suspension"
        assert not l1.valid
        proxy.restore()
        eventually(lambda: m1.connected, "h1 reconnected")
        l2 = m2.acquire_wait("edge", ttl=60, timeout=30)
        assert l2 is not None and l2.fencing_token > l1.fencing_token
        if m1.client.client_id[0] == session:  # the session survived the short cut
            assert m1.held() == {}
        m1.close()
    finally:
        proxy.close()


def test_acquire_wait_times_out(make_manager) -> None:
    m1, m2 = make_manager("h1"), make_manager("h2")
    assert m1.acquire("busy", ttl=60) is not None
    assert m2.acquire_wait("busy", ttl=60, timeout=0.5) is None


def test_acquire_wait_wakes_on_release(make_manager) -> None:
    m1, m2 = make_manager("h1"), make_manager("h2")
    l1 = m1.acquire("busy", ttl=60)
    assert l1 is not None
    threading.Timer(0.3, l1.release).start()
    l2 = m2.acquire_wait("busy", ttl=60, timeout=30)
    assert l2 is not None and l2.fencing_token > l1.fencing_token


def test_bad_arguments(make_manager) -> None:
    m1 = make_manager("h1")
    for bad in ("", "a/b", ".clock"):
        with pytest.raises(ValueError):
            m1.acquire(bad, ttl=1)
    for ttl in (0, -1, float("nan"), float("inf")):
        with pytest.raises(ValueError):
            m1.acquire("ok", ttl=ttl)


def test_undecodable_record_is_not_taken_over(make_manager) -> None:
    m1 = make_manager("h1")
    m1.client.create(f"{m1.root}/weird", b"\x00garbage", ephemeral=True)
    assert m1.acquire("weird", ttl=1) is None
    assert m1.counters["bad_record"] == 1


def test_unreachable_server_is_a_clear_error() -> None:
    m = LeaseManager("127.0.0.1:1", connect_timeout=1.0)
    with pytest.raises(ZkError, match="did not start"):
        m.acquire("x", ttl=1)


async def test_async_lease_manager(zk_single: ZkCluster, zk_root: str) -> None:
    import asyncio

    from mesh.zk import AsyncLeaseManager

    loop = asyncio.get_running_loop()
    m1 = AsyncLeaseManager(zk_single.hosts, root=f"{zk_root}/leases", holder="h1")
    m2 = AsyncLeaseManager(zk_single.hosts, root=f"{zk_root}/leases", holder="h2")
    lost_on_loop = asyncio.Event()

    def on_lost(_lease: Lease) -> None:
        assert asyncio.get_running_loop() is loop
        lost_on_loop.set()

    try:
        l1 = await m1.acquire("duty", ttl=1.0, on_lost=on_lost)
        assert l1 is not None and await m2.acquire("duty", ttl=1.0) is None
        assert await m1.renew(l1)
        l2 = await m2.acquire_wait("duty", ttl=30, timeout=20)  # after l1's TTL runs out
        assert l2 is not None and l2.fencing_token > l1.fencing_token
        await asyncio.wait_for(lost_on_loop.wait(), 20)
        await m2.release(l2)
        assert m2.held() == {}
    finally:
        await m1.close()
        await m2.close()


def test_takeover_works_without_the_clock_node(make_manager) -> None:
    m1, m2 = make_manager("h1"), make_manager("h2")
    assert m1.acquire("duty", ttl=0.5) is not None
    m2.client.delete(f"{m2.root}/.clock")
    assert m2.acquire_wait("duty", ttl=30, timeout=20) is not None
