"""Packet simulation throughput (one core) and the memory of a large topology.

Scenarios: (a) two VM ports on one bridge; (b) VM -> bridge -> router -> bridge -> VM;
(c) as (b) with a 100-rule inbound chain on both bridges, every rule evaluated.
Prints a table (median of --runs runs) or, with --json, one JSON object.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

# the repo root before benchmarks/ (whose datapath.py would shadow the datapath package)
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from services.simulation import Decision, DictStateView, simulate
from services.simulation.packet import PROTO_TCP, Packet
from services.topology.addr import parse_ip
from services.topology.builder import TopologyBuilder
from services.topology.snapshot import Topology

Case = tuple[Topology, DictStateView, str, list[Packet], str]


def _packets(src_mac: int, dst_mac: int, src: str, dst: str, n: int = 256) -> list[Packet]:
    return [
        Packet(
            eth_src=src_mac,
            eth_dst=dst_mac,
            ip_src=parse_ip(src),
            ip_dst=parse_ip(dst),
            proto=PROTO_TCP,
            ttl=64,
            src_port=10000 + i,
            dst_port=80,
        )
        for i in range(n)
    ]


def case_bridge() -> Case:
    b = TopologyBuilder("bench-a")
    br = b.bridge("t")
    p1 = b.vm_port(br, "h1", "10.0.0.1")
    p2 = b.vm_port(br, "h2", "10.0.0.2")
    t = b.build()
    pk = _packets(t.ports[p1].mac, t.ports[p2].mac, "10.0.0.1", "10.0.0.2")
    return t, DictStateView(), p1, pk, p2


def case_routed(rules: int = 0) -> Case:
    b = TopologyBuilder(f"bench-{rules}")
    r = b.router("t")
    bridges = []
    for _ in range(2):
        kw = {}
        if rules:
            c = b.chain("t")
            for i in range(rules - 1):
                # never matches the benchmark traffic, so the whole chain is walked
                b.rule(c, i, "drop", proto="tcp", dst_port=[1000 + i, 1000 + i])
            b.rule(c, rules, "accept")
            kw["inbound_chain_id"] = c
        bridges.append(b.bridge("t", **kw))
    p1 = b.vm_port(bridges[0], "h1", "10.0.1.5")
    p2 = b.vm_port(bridges[1], "h2", "10.0.2.5")
    gw, _ = b.attach(r, bridges[0], "10.0.1.1/24")
    b.attach(r, bridges[1], "10.0.2.1/24")
    t = b.build()
    pk = _packets(t.ports[p1].mac, t.ports[gw].mac, "10.0.1.5", "10.0.2.5")
    return t, DictStateView(), p1, pk, p2


def rate(case: Case, seconds: float) -> float:
    """Simulations per CPU second of this process over about `seconds` of CPU time.

    CPU time, not wall time: the figure is per core, and the build machine is shared.
    """
    topo, state, ingress, packets, egress = case
    first = simulate(topo, state, ingress, packets[0])
    assert first.decision is Decision.FORWARD, first.reason
    assert first.egress_ports == (egress,)
    n = 0
    start = time.process_time()
    deadline = start + seconds
    while True:
        for pkt in packets:
            simulate(topo, state, ingress, pkt)
        n += len(packets)
        now = time.process_time()
        if now >= deadline:
            return n / (now - start)


def rss_mb() -> float:
    """Resident set size of this process, MiB."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def big_topology() -> dict[str, Any]:
    """1,000 routers, 1,000 bridges, 10,000 ports, 100,000 learned MAC entries."""
    gc.collect()
    before = rss_mb()
    b = TopologyBuilder("big")
    bridges = []
    for i in range(1000):
        tenant = f"t{i % 100}"
        r = b.router(tenant)
        br = b.bridge(tenant)
        bridges.append(br)
        for j in range(8):
            b.vm_port(br, f"h{(i * 8 + j) % 200}", f"10.{i // 250}.{i % 250}.{10 + j}")
        b.attach(r, br, f"10.{i // 250}.{i % 250}.1/24")
        b.route(r, "0.0.0.0/0", type="blackhole")
    t0 = time.process_time()
    topo = Topology.from_tables(b.tables)
    build_s = time.process_time() - t0
    macs: dict[tuple[str, int], dict[int, str]] = {}
    ports = list(topo.ports)
    for k in range(100_000):
        br = bridges[k % 1000]
        macs.setdefault((br, 0), {})[0x0A0000000000 + k] = ports[k % len(ports)]
    state = DictStateView(macs)
    gc.collect()
    after = rss_mb()
    assert len(topo.ports) == 10_000 and len(topo.routers) == 1000
    del b
    return {
        "routers": len(topo.routers),
        "ports": len(topo.ports),
        "mac_entries": sum(len(v) for v in state.macs.values()),
        "snapshot_build_cpu_s": round(build_s, 2),
        "rss_total_mb": round(after, 1),
        "rss_added_mb": round(after - before, 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=1.0, help="duration of one run")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    cases: dict[str, Callable[[], Case]] = {
        "a_bridge": case_bridge,
        "b_bridge_router_bridge": case_routed,
        "c_with_100_rule_chains": lambda: case_routed(100),
    }
    targets = {"b_bridge_router_bridge": 20_000, "c_with_100_rule_chains": 10_000}
    out: dict[str, Any] = {"unit": "simulations per CPU second (median)", "runs": args.runs}
    for name, make in cases.items():
        case = make()
        rates = [rate(case, args.seconds) for _ in range(args.runs)]
        out[name] = {
            "median": round(statistics.median(rates)),
            "min": round(min(rates)),
            "max": round(max(rates)),
            "target": targets.get(name),
        }
    out["memory"] = big_topology()
    if args.json:
        print(json.dumps(out))
        return
    print(f"{'scenario':<28}{'median/s':>12}{'min/s':>12}{'max/s':>12}{'target':>10}")
    for name in cases:
        r = out[name]
        target = r["target"] or "-"
        print(f"{name:<28}{r['median']:>12,}{r['min']:>12,}{r['max']:>12,}{target!s:>10}")
    m = out["memory"]
    print(
        f"\nbig topology: {m['routers']} routers, {m['ports']} ports, {m['mac_entries']} MAC "
        f"entries: RSS {m['rss_total_mb']} MB total ({m['rss_added_mb']} MB added, target < 300), "
        f"snapshot built from the table dicts in {m['snapshot_build_cpu_s']} CPU s"
    )


if __name__ == "__main__":
    main()
