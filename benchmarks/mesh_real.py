"""Real meshd processes on loopback: write-to-everywhere latency, idle traffic, memory.

Starts N agents (default 20) with a 100 ms gossip interval, all seeded with the first, waits
until everyone sees everyone alive, then:
- writes keys one at a time on random agents and measures how long until every agent serves
  the value (observed by polling every agent's HTTP API) and the largest origin-to-replica
  lag the agents themselves report (mesh_convergence_lag_last);
- measures idle bytes/s sent per member from /metrics (mesh_bytes_out_total) with no writes;
- reads each agent's RSS from /proc.
Prints figures (p50/p99 over the writes), or one JSON object with --json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.mesh_proc.harness import Meshd, all_alive, start_cluster, stop_all, wait_until


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(p / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def metric_sum(text: str, prefix: str) -> float:
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith(prefix) and not line.startswith("#")
    )


async def scrape(session: aiohttp.ClientSession, node: Meshd, prefix: str) -> float:
    async with session.get(f"http://127.0.0.1:{node.api_port}/metrics") as resp:
        return metric_sum(await resp.text(), prefix)


async def scrape_many(
    session: aiohttp.ClientSession, nodes: list[Meshd], prefix: str
) -> list[float]:
    return list(await asyncio.gather(*(scrape(session, n, prefix) for n in nodes)))


async def measure_writes(
    nodes: list[Meshd], writes: int, poll: float, rng: random.Random
) -> tuple[list[float], list[float], int]:
    """Per write: seconds until every other node serves it (polled), and the largest
    origin-to-replica lag the replicas measured themselves (each replica's
    mesh_convergence_lag_last, counted only if its lag count moved, i.e. it applied this
    write as a delta). Also returns how many replica applications came another way (full
    state by push-pull), which carry no lag figure."""
    observed: list[float] = []
    reported: list[float] = []
    without_lag = 0
    async with aiohttp.ClientSession() as session:
        for i in range(writes):
            origin = rng.choice(nodes)
            others = [n for n in nodes if n is not origin]
            counts = await scrape_many(session, others, "mesh_convergence_lag_count ")
            key = f"bench-{i}-{rng.getrandbits(32):x}"
            start = time.monotonic()
            url = f"http://127.0.0.1:{origin.api_port}/v1/kv/{key}"
            async with session.put(url, data=json.dumps(i)) as resp:
                assert resp.status == 200, resp.status
            pending = list(others)
            while pending:
                results = await asyncio.gather(
                    *(session.get(f"http://127.0.0.1:{n.api_port}/v1/kv/{key}") for n in pending)
                )
                still = []
                for node, resp in zip(pending, results, strict=True):
                    if resp.status != 200:
                        still.append(node)
                    resp.release()
                pending = still
                if pending:
                    await asyncio.sleep(poll)
                if time.monotonic() - start > 30:
                    raise RuntimeError(f"write {key} did not reach {len(pending)} nodes in 30 s")
            observed.append(time.monotonic() - start)
            after = await scrape_many(session, others, "mesh_convergence_lag_count ")
            lasts = await scrape_many(session, others, "mesh_convergence_lag_last ")
            lags = [last for b, a, last in zip(counts, after, lasts, strict=True) if a > b]
            without_lag += len(others) - len(lags)
            if lags:
                reported.append(max(lags))
            await asyncio.sleep(0.2 + rng.random() * 0.2)
    return observed, reported, without_lag


async def idle_rate(nodes: list[Meshd], seconds: float) -> list[float]:
    """Bytes/s sent by each member (datagrams and streams) over `seconds` without writes."""
    async with aiohttp.ClientSession() as session:
        before = await asyncio.gather(*(scrape(session, n, "mesh_bytes_out_total") for n in nodes))
        t0 = time.monotonic()
        await asyncio.sleep(seconds)
        after = await asyncio.gather(*(scrape(session, n, "mesh_bytes_out_total") for n in nodes))
        elapsed = time.monotonic() - t0
    return [(a - b) / elapsed for a, b in zip(after, before, strict=True)]


def cpu_seconds(node: Meshd) -> float:
    """User + system CPU time the agent has used so far."""
    assert node.proc is not None
    stat = Path(f"/proc/{node.proc.pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_bytes(node: Meshd) -> int:
    assert node.proc is not None
    for line in Path(f"/proc/{node.proc.pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def run(args: argparse.Namespace) -> dict[str, Any]:
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory(prefix="mesh-real-") as tmp:
        mesh = {"gossip_interval": args.gossip_interval}
        t0 = time.monotonic()
        nodes = start_cluster(Path(tmp), args.nodes, prefix="b", mesh=mesh, ready_timeout=180)
        try:
            wait_until(lambda: all_alive(nodes), timeout=120, interval=0.5)
            converge_members = time.monotonic() - t0
            observed, reported, without_lag = asyncio.run(
                measure_writes(nodes, args.writes, args.poll, rng)
            )
            time.sleep(2.0)  # let retransmissions of the last write die down
            cpu_before, t_before = [cpu_seconds(n) for n in nodes], time.monotonic()
            idle = asyncio.run(idle_rate(nodes, args.idle_seconds))
            elapsed = time.monotonic() - t_before
            idle_cpu = [
                (cpu_seconds(n) - b) / elapsed for n, b in zip(nodes, cpu_before, strict=True)
            ]
            rss = [rss_bytes(n) for n in nodes]
        finally:
            stop_all(nodes)
    return {
        "nodes": args.nodes,
        "gossip_interval_s": args.gossip_interval,
        "writes": args.writes,
        "startup_to_full_membership_s": round(converge_members, 2),
        "write_to_everywhere_observed_p50_s": round(percentile(observed, 50), 4),
        "write_to_everywhere_observed_p99_s": round(percentile(observed, 99), 4),
        "write_to_everywhere_observed_max_s": round(max(observed), 4),
        "write_to_everywhere_observed_slowest_s": sorted(round(x, 3) for x in observed)[-5:],
        "poll_interval_s": args.poll,
        "replica_applications_without_lag": without_lag,
        "replica_lag_reported_p50_s": round(percentile(reported, 50), 4),
        "replica_lag_reported_p99_s": round(percentile(reported, 99), 4),
        "idle_bytes_per_s_per_member_median": round(statistics.median(idle), 1),
        "idle_bytes_per_s_per_member_max": round(max(idle), 1),
        "idle_cpu_percent_per_agent_median": round(100 * statistics.median(idle_cpu), 2),
        "rss_mib_per_agent_median": round(statistics.median(rss) / 2**20, 1),
        "rss_mib_per_agent_max": round(max(rss) / 2**20, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=20)
    parser.add_argument("--writes", type=int, default=40)
    parser.add_argument("--gossip-interval", type=float, default=0.1)
    parser.add_argument("--poll", type=float, default=0.05, help="API polling interval (s)")
    parser.add_argument("--idle-seconds", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--runs", type=int, default=3, help="report the median of N runs")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    results = []
    for i in range(args.runs):
        args.seed += i
        results.append(run(args))
    result: dict[str, Any] = {
        k: round(statistics.median(r[k] for r in results), 4)
        for k in results[0]
        if not isinstance(results[0][k], list)
    }
    result["write_to_everywhere_observed_slowest_s"] = [
        r["write_to_everywhere_observed_slowest_s"] for r in results
    ]
    result["nodes"] = args.nodes
    result["writes"] = args.writes
    result["runs"] = args.runs
    if args.json:
        print(json.dumps(result))
    else:
        width = max(len(k) for k in result)
        for key, value in result.items():
            print(f"{key:<{width}}  {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
