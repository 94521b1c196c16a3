"""Convergence of a single write on the simulated mesh (virtual time, real protocol core).

For each trial one random member writes one key; we measure the virtual time until every
member has applied it, in gossip intervals ("rounds"). Trials run back to back on one
cluster, a few quiet seconds apart. Prints p50/p99 per cluster size; --json prints one
JSON object (for one --nodes value) or a list of them (the default table)."""

from __future__ import annotations

import argparse
import json
import math
import random
import statistics
import time

import crdt
from mesh.config import MeshConfig
from mesh.node import MeshNode
from mesh.sim import LinkModel, make_cluster


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def run(nodes: int, fanout: int, trials: int, seed: int, loss: float, pull: bool) -> dict:
    cfg = MeshConfig.lan(gossip_fanout=fanout, gossip_pull_fanout=1 if pull else 0)
    wall = time.perf_counter()
    net = make_cluster(
        nodes,
        seed=seed,
        config=cfg,
        link=LinkModel(loss=loss),
        tables=lambda n: n.table("kv", lambda: crdt.ORMap(crdt.LWWRegister)),
    )
    members: list[MeshNode] = list(net.nodes.values())
    reached: dict[str, int] = {}
    for m in members:
        table = m.tables["kv"]
        table.subscribe(lambda keys: [reached.__setitem__(k, reached.get(k, 0) + 1) for k in keys])
    rng = random.Random(seed)
    net.run_until(2.0)
    rounds: list[float] = []
    unconverged = 0
    for trial in range(trials):
        key = f"trial-{trial}"
        writer = rng.choice(members)
        net.run_until(net.now + rng.random() * cfg.gossip_interval)
        start = net.now
        writer.tables["kv"].put(key, trial, now=start)
        net.inject(writer.meta.gossip, [])
        done = net.run_until(
            start + 60.0, lambda key=key: reached.get(key, 0) >= nodes, check_every=0.005
        )
        if done:
            rounds.append((net.now - start) / cfg.gossip_interval)
        else:
            unconverged += 1
        net.run_until(net.now + 3.0)  # let retransmissions die down
    datagrams = sum(m.metrics.messages_out["datagram"] for m in members)
    return {
        "nodes": nodes,
        "fanout": fanout,
        "pull": pull,
        "loss": loss,
        "trials": trials,
        "unconverged": unconverged,
        "rounds_p50": round(statistics.median(rounds), 2) if rounds else None,
        "rounds_p99": round(percentile(rounds, 99), 2) if rounds else None,
        "rounds_max": round(max(rounds), 2) if rounds else None,
        "gossip_interval_s": cfg.gossip_interval,
        "datagrams_per_member_per_s": round(datagrams / nodes / net.now, 1),
        "virtual_s": round(net.now, 1),
        "wall_s": round(time.perf_counter() - wall, 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--nodes", type=int, help="cluster size (default: table for 10/100/1000)")
    ap.add_argument("--fanout", type=int, default=3)
    ap.add_argument("--trials", type=int, help="writes per cluster size")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--loss", type=float, default=0.0, help="datagram loss probability")
    ap.add_argument("--no-pull", action="store_true", help="push gossip only (baseline)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    sizes = [args.nodes] if args.nodes else [10, 100, 1000]
    default_trials = {10: 100, 100: 60, 1000: 30}
    results = []
    for n in sizes:
        trials = args.trials or default_trials.get(n, 10)
        results.append(run(n, args.fanout, trials, args.seed, args.loss, not args.no_pull))
        if not args.json:
            r = results[-1]
            print(
                f"N={r['nodes']:>6} fanout={r['fanout']} pull={r['pull']} trials={r['trials']}"
                f"  rounds p50={r['rounds_p50']} p99={r['rounds_p99']} max={r['rounds_max']}"
                f"  ({r['datagrams_per_member_per_s']} datagrams/member/s,"
                f" {r['wall_s']} s wall for {r['virtual_s']} virtual s)",
                flush=True,
            )
    if args.json:
        print(json.dumps(results[0] if args.nodes else results))


if __name__ == "__main__":
    main()
