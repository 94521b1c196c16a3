"""The Cassandra session store against one real node: rows written with their TTL and gone
after it, restore by port, and a killed or frozen node never blocking offer()."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
from cassandra.cluster import Cluster

from services.session.cassandra_store import CassandraSessionStore
from services.session.config import SessionConfig
from tests.session.cassandra_helpers import KEYSPACE, conns, eventually, new_port, snat
from tests.session.cassandra_server import CassandraCluster

pytestmark = pytest.mark.cassandra


def make_store(node: CassandraCluster, **cfg: float) -> CassandraSessionStore:
    return CassandraSessionStore(
        node.contact_points,
        SessionConfig(**cfg),  # type: ignore[arg-type]
        keyspace=KEYSPACE,
        protocol_version=5,
    )


@pytest.fixture
async def store(cassandra_node: CassandraCluster) -> AsyncIterator[CassandraSessionStore]:
    s = make_store(cassandra_node, idle_timeout=60)
    await s.start()
    assert await s.wait_connected(60), "store did not connect to the test node"
    yield s
    await s.close()


@pytest.fixture
def cql(cassandra_node: CassandraCluster) -> Iterator[object]:
    """A plain driver session, to look at the rows the store wrote."""
    cluster = Cluster(contact_points=cassandra_node.contact_points, protocol_version=5)
    session = cluster.connect()
    yield session
    cluster.shutdown()


async def test_rows_have_the_idle_timeout_as_ttl_and_go_after_it(
    cassandra_node: CassandraCluster, cql: object
) -> None:
    s = make_store(cassandra_node, idle_timeout=3)  # TTL 3 s
    await s.start()
    try:
        assert await s.wait_connected(60)
        port, out = new_port(), new_port()
        s.offer([*conns(50, port, (out,)), snat(1, port, (out,))])
        assert await s.drain(30)
        assert s.counters["store_rows_written"] == 102  # 51 entries x (ingress + egress)
        r = await s.restore(port)
        assert r.complete and len(r.entries) == 51
        rows = cql.execute(  # type: ignore[attr-defined]
            f"SELECT TTL(entry) FROM {KEYSPACE}.sessions_by_ingress_port WHERE port_id = %s",
            (uuid.UUID(port),),
        )
        ttls = [row[0] for row in rows]
        assert ttls and all(t is not None and 0 < t <= 3 for t in ttls)
        await asyncio.sleep(4.0)
        assert (await s.restore(port)).entries == ()
        assert (await s.restore(out)).entries == ()
    finally:
        await s.close()


async def test_restore_by_port(store: CassandraSessionStore) -> None:
    a, b, c = new_port(), new_port(), new_port()
    from_a = conns(30, a, (b,))
    from_c = [*conns(20, c, (b,), base=100), snat(7, c)]
    store.offer(from_a + from_c)
    store.offer(from_a[:5])  # refreshes rewrite the same rows
    assert await store.drain(30)
    ra, rb, rc = [await store.restore(p) for p in (a, b, c)]
    assert ra.complete and rb.complete and rc.complete
    assert {e.key for e in ra.entries} == {e.key for e in from_a}
    assert {e.key for e in rb.entries} == {e.key for e in from_a + from_c[:-1]}
    assert {e.key for e in rc.entries} == {e.key for e in from_c}
    assert set(ra.entries) == set(from_a)  # values (ports, bindings) come back whole
    assert (await store.restore(new_port())).entries == ()
    assert store.counters["store_restored"] == len(from_a) + 50 + len(from_c)


async def test_a_bad_row_is_skipped_and_counted(store: CassandraSessionStore, cql: object) -> None:
    port = new_port()
    store.offer(conns(3, port))
    assert await store.drain(30)
    cql.execute(  # type: ignore[attr-defined]
        f"INSERT INTO {KEYSPACE}.sessions_by_ingress_port (port_id, session_key, entry) "
        "VALUES (%s, %s, %s) USING TTL 60",
        (uuid.UUID(port), b"junk-key", b"VS\x01\x00 not a message"),
    )
    r = await store.restore(port)
    assert r.complete and len(r.entries) == 3
    assert store.counters["store_bad_rows"] == 1


class Ticker:
    """Counts event-loop turns of 10 ms: proof the loop was never held up for long."""

    def __init__(self) -> None:
        self.ticks = 0
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(0.01)
            self.ticks += 1

    def stop(self) -> None:
        self._task.cancel()


async def test_killed_node_drops_writes_then_store_reconnects(
    cassandra_node: CassandraCluster,
) -> None:
    node = cassandra_node.nodes[0]
    s = make_store(cassandra_node, idle_timeout=60, store_queue_max=500, store_write_timeout=1.0)
    await s.start()
    try:
        assert await s.wait_connected(60)
        port = new_port()
        s.offer(conns(10, port))
        assert await s.drain(30)
        node.kill()
        ticker = Ticker()
        try:
            # offers during the outage: each returns at once, the queue stays bounded,
            # and the writer drops what it cannot write (counted)
            for round_ in range(40):
                s.offer(conns(50, port, base=1000 + 50 * round_))
                assert s.pending <= 500 + 32 * 32
                await asyncio.sleep(0.05)
            await eventually(
                lambda: s.counters["store_rows_dropped"] + s.counters["store_queue_full"] > 0,
                "writes while Cassandra is down are dropped and counted",
            )
            assert ticker.ticks >= 50  # 2 s of outage: the loop kept turning
        finally:
            ticker.stop()
        assert s.counters["store_rows_written"] == 10
        node.start()  # from this (main) thread: the node lives as long as the test run
        await asyncio.to_thread(node.wait_ready)
        written = s.counters["store_rows_written"]
        late = conns(20, port, base=9000)

        def wrote_late() -> bool:
            s.offer(late)
            return s.counters["store_rows_written"] >= written + 20

        await eventually(wrote_late, "the store reconnects and writes again", timeout=60)
        assert await s.drain(30)
        r = await s.restore(port)
        assert r.complete
        assert {e.key for e in late} <= {e.key for e in r.entries}
    finally:
        if not node.running():
            node.start()
            node.wait_ready()
        await s.close()


async def test_frozen_node_times_writes_out_without_blocking(
    cassandra_node: CassandraCluster,
) -> None:
    node = cassandra_node.nodes[0]
    s = make_store(cassandra_node, store_write_timeout=0.5, restore_timeout=1.0)
    await s.start()
    try:
        assert await s.wait_connected(60)
        port = new_port()
        node.pause()
        try:
            s.offer(conns(40, port))
            await eventually(
                lambda: s.counters.get("store_rows_dropped", ("timeout",)) > 0,
                "writes to a node that does not answer time out, counted",
            )
            r = await s.restore(port)
            assert not r.complete and r.entries == ()
            assert s.counters["store_restore_failures"] == 1
        finally:
            node.resume()
        more = conns(5, port, base=500)

        def wrote() -> bool:
            s.offer(more)
            return s.counters["store_rows_written"] >= 5

        await eventually(wrote, "writes succeed again once the node answers")
    finally:
        node.resume()
        await s.close()
