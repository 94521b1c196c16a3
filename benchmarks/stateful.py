"""Stateful L4 figures: the Cassandra session store on one real node.

- write-behind throughput: sessions offered at once, time until every row is acknowledged
  (each session: one row by ingress port, one by egress port); target >= 3,000 sessions/s;
- restore: time to read back 10,000 sessions of one port (restore(port)); target < 2 s.

Starts its own node (tests/session/cassandra_server.py) unless --cassandra HOST[:PORT] is
given. Prints the median of --runs runs; the last line is JSON with --json.
(The packet-path figures of issue 9 come with the packet-path wiring.)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from services.session.cassandra_schema import parse_contact_points
from services.session.cassandra_store import CassandraSessionStore
from services.session.config import SessionConfig
from services.session.entries import ConnEntry, SessionEntry, SessionPorts
from services.session.keys import ConnKey, FlowTuple


def sessions(n: int, ingress: str, egress: str) -> list[SessionEntry]:
    dev = str(uuid.uuid4())
    ports = SessionPorts(ingress, (egress,))
    return [
        ConnEntry(
            ConnKey(dev, FlowTuple(6, 0x0A000001 + i // 60000, 1024 + i % 60000, 0x08080808, 443)),
            ports,
        )
        for i in range(n)
    ]


async def run(
    points: list[tuple[str, int]], n_write: int, n_restore: int, runs: int
) -> dict[str, float]:
    store = CassandraSessionStore(
        points, SessionConfig(idle_timeout=300), keyspace="vnetmesh_bench", protocol_version=5
    )
    await store.start()
    if not await store.wait_connected(60):
        raise SystemExit("could not connect to Cassandra")
    try:
        # warm-up: JIT on the node, prepared statements, connections
        store.offer(sessions(2000, str(uuid.uuid4()), str(uuid.uuid4())))
        await store.drain(60)
        write_rates, restore_times = [], []
        for _ in range(runs):
            batch = sessions(n_write, str(uuid.uuid4()), str(uuid.uuid4()))
            t0 = time.perf_counter()
            store.offer(batch)
            if not await store.drain(120):
                raise SystemExit("write-behind queue did not drain in 120 s")
            write_rates.append(n_write / (time.perf_counter() - t0))
        dropped = store.counters["store_rows_dropped"] + store.counters["store_queue_full"]
        port = str(uuid.uuid4())
        store.offer(sessions(n_restore, port, str(uuid.uuid4())))
        await store.drain(120)
        for _ in range(runs):
            t0 = time.perf_counter()
            r = await store.restore(port, timeout=30)
            restore_times.append(time.perf_counter() - t0)
            if not r.complete or len(r.entries) != n_restore:
                raise SystemExit(f"restore read {len(r.entries)} of {n_restore} ({r.reason})")
    finally:
        await store.close()
    return {
        "write_sessions_per_s": round(statistics.median(write_rates)),
        "write_sessions_per_s_min": round(min(write_rates)),
        "restore_sessions": n_restore,
        "restore_s": round(statistics.median(restore_times), 3),
        "restore_s_max": round(max(restore_times), 3),
        "rows_dropped": dropped,
        "runs": runs,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cassandra", help="HOST[:PORT],... of a running node (default: start one)")
    ap.add_argument("--sessions", type=int, default=10_000, help="sessions per write run")
    ap.add_argument("--restore", type=int, default=10_000, help="sessions restored for one port")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--json", action="store_true", help="print a JSON line last")
    args = ap.parse_args()
    node = None
    if args.cassandra:
        points = parse_contact_points(args.cassandra)
    else:
        from tests.session.cassandra_server import CassandraCluster

        node = CassandraCluster(size=1, heap="512M")
        node.start()
        points = node.contact_points
    try:
        figures = asyncio.run(run(points, args.sessions, args.restore, args.runs))
    finally:
        if node is not None:
            node.stop()
    print(
        f"Cassandra write-behind, one node: {figures['write_sessions_per_s']} sessions/s "
        f"(median of {args.runs}, min {figures['write_sessions_per_s_min']}; target >= 3000)"
    )
    print(
        f"restore of {args.restore} sessions for a port: {figures['restore_s']} s "
        f"(median, max {figures['restore_s_max']}; target < 2 s)"
    )
    print(f"rows dropped during the runs: {figures['rows_dropped']}")
    if args.json:
        print(json.dumps({"benchmark": "stateful", **figures}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
