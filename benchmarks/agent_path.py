"""Flow setup through the agent's packet path on the userspace or kernel datapath.

Two measurements, each the median of several runs:
- ``direct``: upcalls handed to PacketPath.handle (simulate -> translate -> install ->
  execute of the real frame through a veth port); rate of new flows per second on one core,
  and latency of one miss to an installed flow (p50/p99).
- ``wire``: frames injected on the VM side of a veth, read by the datapath (AF_PACKET), missed,
  queued, handled by the worker; new flows per second end to end (the injector shares the core).

Every flow is distinct: the router's inbound chain reads the TCP destination port, which
varies per flow. Needs root (a network namespace named vnmbench-*, removed at the end).
``--backend kernel|both`` needs openvswitch.ko, i.e. the test VM, whose software emulation
makes absolute figures meaningless: ``both`` measures the two backends in the same VM and
process and reports kernel/userspace ratios (scripts/vm-run.sh ".venv/bin/python
benchmarks/agent_path.py --backend both --flows 300 --runs 3").
Usage: .venv/bin/python benchmarks/agent_path.py [--backend B] [--flows N] [--runs R] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import sys
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from datapath.api import Datapath, Upcall, UpcallKind
from datapath.netns import in_netns
from datapath.packet import build
from datapath.userspace.datapath import UserspaceDatapath
from services.agent.packet_path import PacketPath, PathConfig
from services.agent.translate import key_of
from services.demo.netlab import sh
from services.simulation import DictStateView
from services.simulation.packet import PROTO_TCP, Packet
from services.simulation.result import StateUpdate
from services.simulation.state import StateView
from services.topology.addr import parse_ip
from services.topology.builder import TopologyBuilder
from services.topology.snapshot import Topology


class Sources:
    """In-memory topology and state (the replicated tables are not what is measured)."""

    def __init__(self, topo: Topology) -> None:
        self.topo = topo
        self.view = DictStateView()

    def topology(self) -> Topology:
        return self.topo

    def state(self) -> StateView:
        return self.view

    def underlay(self) -> dict[str, int]:
        return {"h1": parse_ip("10.251.0.1")}

    def commit(self, updates: Sequence[StateUpdate]) -> None:
        self.view = self.view.apply(updates)


def topology(rules: int = 100) -> tuple[Topology, dict[str, str]]:
    """Bridge A - router - bridge B; chains of `rules` rules on both bridges' and the
    router's inbound side (the issue's scenario): all but the router's last rule (drop TCP
    port 23) miss, so every packet walks every rule."""
    b = TopologyBuilder("bench")
    ids = {"bA": b.bridge("A"), "bB": b.bridge("B"), "r": b.router("A")}
    ids["a1"] = b.port(ids["bA"], binding={"host_id": "h1", "interface": "bt1"},
                       addresses=["10.0.1.11"], mac="02:00:00:00:01:0b")  # fmt: skip
    ids["b1"] = b.port(ids["bB"], binding={"host_id": "h1", "interface": "bt2"},
                       addresses=["10.0.2.21"], mac="02:00:00:00:02:15")  # fmt: skip
    ids["rA"], _ = b.attach(ids["r"], ids["bA"], "10.0.1.1/24")
    ids["rB"], _ = b.attach(ids["r"], ids["bB"], "10.0.2.1/24")
    b.route(ids["r"], "10.0.1.0/24", next_hop_port=ids["rA"])
    b.route(ids["r"], "10.0.2.0/24", next_hop_port=ids["rB"])
    for dev, kind in (("bA", "bridges"), ("r", "routers"), ("bB", "bridges")):
        chain = b.chain("A")
        for i in range(max(rules - 1, 0)):  # sources that never occur: every rule misses
            b.rule(chain, i + 1, "drop", ip_src=f"192.168.{i % 250}.{i // 250}/32")
        if dev == "r":
            b.rule(chain, rules, "drop", proto="tcp", dst_port=[23, 23])
        b.update(kind, ids[dev], inbound_chain_id=chain)
    return b.build(), ids


def frame(topo: Topology, ids: dict[str, str], dport: int) -> tuple[Packet, bytes]:
    src_mac = topo.ports[ids["a1"]].mac
    router_mac = topo.ports[ids["rA"]].mac
    pkt = Packet(
        eth_src=src_mac,
        eth_dst=router_mac,
        ip_src=parse_ip("10.0.1.11"),
        ip_dst=parse_ip("10.0.2.21"),
        proto=PROTO_TCP,
        ttl=64,
        src_port=40000,
        dst_port=dport,
    )
    raw = build.tcp_frame(src_mac, router_mac, pkt.ip_src or 0, pkt.ip_dst or 0, 40000, dport, 0x02)
    return pkt, raw


async def open_dp(backend: str, ns: str, queue: int) -> Datapath:
    """A fresh datapath "bench" inside namespace `ns` on `backend`."""
    if backend == "kernel":
        from datapath.odp.datapath import KernelDatapath

        return await KernelDatapath.create("bench", netns=ns)
    return UserspaceDatapath("bench", netns=ns, upcall_queue=queue)


RULES = 100  # rules per chain (--rules)
PACED_RATE = 6000.0  # offered frames per second for the latency run: half the 12,000 target


def path_config(n: int, queue_size: int = PathConfig().queue_size) -> PathConfig:
    return PathConfig(max_flows=n + 100, queue_size=queue_size)


async def run_direct(ns: str, n: int, backend: str) -> dict[str, float]:
    topo, ids = topology(RULES)
    dp = await open_dp(backend, ns, n + 10)
    path = PacketPath(dp, "h1", Sources(topo), path_config(n))
    await path.start()
    try:
        port = path.bindings[ids["a1"]].port_no
        ups = []
        for i in range(n):
            pkt, raw = frame(topo, ids, 1024 + i)
            ups.append(Upcall(UpcallKind.MISS, key_of(pkt, port), raw))
        path.latencies.clear()
        t0, c0 = time.perf_counter(), time.process_time()
        for up in ups:
            await path.handle_safely(up)
        took, cpu = time.perf_counter() - t0, time.process_time() - c0
        lat = sorted(path.latencies)
        assert path.counters["flows_installed"] >= n, path.counters.as_dict()
        assert not path.counters["upcall_errors"], path.counters.as_dict()
        return {
            "rate": n / took,
            "cpu_rate": n / cpu,
            "p50_us": lat[len(lat) // 2] * 1e6,
            "p99_us": lat[int(len(lat) * 0.99)] * 1e6,
        }
    finally:
        await path.stop()
        await dp.close()


async def run_wire(ns: str, n: int, backend: str) -> dict[str, float]:
    topo, ids = topology(RULES)
    dp = await open_dp(backend, ns, n + 10)
    path = PacketPath(dp, "h1", Sources(topo), path_config(n, n + 10))
    await path.start()
    with in_netns(ns):
        inj = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
        inj.bind(("bv1", 0))
    try:
        raws = [frame(topo, ids, 1024 + i)[1] for i in range(n)]
        t0, c0 = time.perf_counter(), time.process_time()
        for i, raw in enumerate(raws):
            inj.send(raw)
            if i % 64 == 63:
                await asyncio.sleep(0)  # let the datapath read (same core, same loop)
        deadline = time.monotonic() + 60
        while path.counters["flows_installed"] < n and time.monotonic() < deadline:
            await asyncio.sleep(0.001)
        took, cpu = time.perf_counter() - t0, time.process_time() - c0
        done = path.counters["flows_installed"]
        return {
            "rate": done / took,
            "cpu_rate": done / cpu,
            "installed": done,
            "lost": float((await dp.stats()).lost),
        }
    finally:
        inj.close()
        await path.stop()
        await dp.close()


async def run_paced(ns: str, n: int, backend: str, rate: float) -> dict[str, float]:
    """Frames offered on the wire at `rate` per second; miss-to-installed latency of each
    (send time to the return of the datapath's install_flow for its TCP port)."""
    topo, ids = topology(RULES)
    dp = await open_dp(backend, ns, n + 10)
    sent: dict[int, float] = {}
    took: list[float] = []
    install = dp.install_flow

    async def timed_install(*args: Any, **kw: Any) -> bytes:
        ufid = await install(*args, **kw)
        tcp = args[0].tcp
        if tcp is not None and tcp.dst in sent:
            took.append(time.perf_counter() - sent.pop(tcp.dst))
        return ufid

    dp.install_flow = timed_install  # type: ignore[method-assign]
    path = PacketPath(dp, "h1", Sources(topo), path_config(n, n + 10))
    await path.start()
    with in_netns(ns):
        inj = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
        inj.bind(("bv1", 0))
    try:
        raws = [frame(topo, ids, 1024 + i)[1] for i in range(n)]
        t0 = time.perf_counter()
        for i, raw in enumerate(raws):
            due = t0 + i / rate
            while time.perf_counter() < due:
                await asyncio.sleep(0)
            sent[1024 + i] = time.perf_counter()
            inj.send(raw)
        deadline = time.monotonic() + 30
        while sent and time.monotonic() < deadline:
            await asyncio.sleep(0.001)
        took.sort()
        return {"p50_ms": took[len(took) // 2] * 1e3, "p99_ms": took[int(len(took) * 0.99)] * 1e3}
    finally:
        inj.close()
        await path.stop()
        await dp.close()


def setup_ns() -> str:
    ns = f"vnmbench-{uuid.uuid4().hex[:6]}"
    sh("ip", "netns", "add", ns)
    sh("ip", "-n", ns, "link", "set", "lo", "up")
    for i in (1, 2):
        sh(
            "ip",
            "-n",
            ns,
            "link",
            "add",
            "name",
            f"bt{i}",
            "type",
            "veth",
            "peer",
            "name",
            f"bv{i}",
        )
        sh("ip", "-n", ns, "link", "set", f"bt{i}", "up")
        sh("ip", "-n", ns, "link", "set", f"bv{i}", "up")
    return ns


def med(rows: list[dict[str, float]], k: str) -> float:
    return round(statistics.median(r[k] for r in rows), 1)


def measure(ns: str, backend: str, flows: int, runs: int) -> dict[str, float]:
    """Median figures of `runs` direct and `runs` wire runs on `backend`."""
    direct = [asyncio.run(run_direct(ns, flows, backend)) for _ in range(runs)]
    wire = [asyncio.run(run_wire(ns, flows, backend)) for _ in range(runs)]
    paced = [asyncio.run(run_paced(ns, flows, backend, PACED_RATE)) for _ in range(runs)]
    return {
        "paced_offered_per_s": PACED_RATE,
        "paced_latency_p50_ms": round(statistics.median(r["p50_ms"] for r in paced), 3),
        "paced_latency_p99_ms": round(statistics.median(r["p99_ms"] for r in paced), 3),
        "direct_flows_per_s": med(direct, "rate"),
        "direct_flows_per_cpu_s": med(direct, "cpu_rate"),
        "direct_latency_p50_us": med(direct, "p50_us"),
        "direct_latency_p99_us": med(direct, "p99_us"),
        "wire_flows_per_s": med(wire, "rate"),
        "wire_flows_per_cpu_s": med(wire, "cpu_rate"),
        "wire_upcalls_lost": med(wire, "lost"),
        "wire_flows_installed": min(r["installed"] for r in wire),
    }


RATIO_KEYS = (
    "direct_flows_per_s",
    "direct_flows_per_cpu_s",
    "direct_latency_p50_us",
    "direct_latency_p99_us",
    "wire_flows_per_s",
    "wire_flows_per_cpu_s",
)


def ratios(kernel: dict[str, float], user: dict[str, float]) -> dict[str, float]:
    """kernel / userspace per figure (rates: > 1 means kernel faster; latencies: < 1)."""
    return {k: round(kernel[k] / user[k], 2) if user[k] else float("nan") for k in RATIO_KEYS}


def describe(backend: str, fig: dict[str, float]) -> list[str]:
    return [
        f"  {backend} direct (upcall -> simulate -> translate -> install -> execute): "
        f"{fig['direct_flows_per_s']:.0f} flows/s wall, "
        f"{fig['direct_flows_per_cpu_s']:.0f} per CPU-second; "
        f"latency p50 {fig['direct_latency_p50_us']:.0f} us, "
        f"p99 {fig['direct_latency_p99_us']:.0f} us",
        f"  {backend} wire (veth -> datapath -> miss -> queue -> worker): "
        f"{fig['wire_flows_per_s']:.0f} flows/s wall, "
        f"{fig['wire_flows_per_cpu_s']:.0f} per CPU-second; "
        f"upcalls lost {fig['wire_upcalls_lost']:.0f}, "
        f"fewest flows installed in a run {fig['wire_flows_installed']:.0f}",
    ]


def profile(ns: str, backend: str, flows: int) -> None:
    """One direct run under pyinstrument; the call tree as text on stdout."""
    from pyinstrument import Profiler

    prof = Profiler(interval=0.0002)
    prof.start()
    fig = asyncio.run(run_direct(ns, flows, backend))
    prof.stop()
    print(prof.output_text(unicode=False, color=False, show_all=False))
    print(f"direct (profiled): {fig['cpu_rate']:.0f} flows per CPU-second")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--backend",
        choices=("userspace", "kernel", "both"),
        default="userspace",
        help="datapath backend(s); kernel and both need openvswitch.ko (the test VM)",
    )
    ap.add_argument(
        "--flows",
        type=int,
        default=None,
        help="new flows per run (default 5000 userspace, 300 when the kernel is involved)",
    )
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    ap.add_argument("--rules", type=int, default=100, help="rules per chain (3 chains)")
    ap.add_argument(
        "--profile", action="store_true", help="one direct run under pyinstrument (text out)"
    )
    args = ap.parse_args()
    global RULES
    RULES = args.rules
    flows = args.flows or (5000 if args.backend == "userspace" else 300)
    if os.geteuid() != 0:
        print("agent_path: needs root (network namespace)", file=sys.stderr)
        return 2
    backends = ["userspace", "kernel"] if args.backend == "both" else [args.backend]
    ns = setup_ns()
    if args.profile:
        try:
            profile(ns, args.backend, args.flows or 3000)
        finally:
            sh("ip", "netns", "del", ns, check=False)
        return 0
    try:
        figs = {b: measure(ns, b, flows, args.runs) for b in backends}
    finally:
        sh("ip", "netns", "del", ns, check=False)

    out: dict[str, object] = {"backend": args.backend, "flows_per_run": flows, "runs": args.runs}
    if args.backend == "both":
        out.update(figs)
        out["kernel_to_userspace_ratio"] = ratios(figs["kernel"], figs["userspace"])
    else:
        out.update(figs[args.backend])
    main_fig = figs[backends[0]]
    out["direct_per_cpu_s"] = main_fig["direct_flows_per_cpu_s"]
    out["wire_per_cpu_s"] = main_fig["wire_flows_per_cpu_s"]
    out["p99_ms"] = main_fig["paced_latency_p99_ms"]
    out["rules_per_chain"] = RULES
    out["load_avg_1m"] = round(os.getloadavg()[0], 2)
    out["target_flows_per_s"] = 10000
    if args.json:
        print(json.dumps(out))
        return 0
    print(f"agent packet path, {args.backend} datapath, {flows} new flows x {args.runs} runs")
    for b in backends:
        print("\n".join(describe(b, figs[b])))
    if args.backend == "both":
        r = ratios(figs["kernel"], figs["userspace"])
        print(
            "  kernel/userspace (same VM, same process): "
            f"direct rate x{r['direct_flows_per_s']}, "
            f"per CPU-second x{r['direct_flows_per_cpu_s']}, "
            f"latency p50 x{r['direct_latency_p50_us']}, p99 x{r['direct_latency_p99_us']}; "
            f"wire rate x{r['wire_flows_per_s']}, per CPU-second x{r['wire_flows_per_cpu_s']}"
        )
    print(f"  (machine load average {out['load_avg_1m']}: shared cores make wall rates low)")
    if args.backend != "userspace":
        print("  kernel figures come from a software-emulated VM: read the ratio, not absolutes")
    print("  target: >= 10000 new flows/s per core")
    return 0


if __name__ == "__main__":
    sys.exit(main())
