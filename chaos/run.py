"""`meshchaos run`: build the cluster, run the workloads while the nemesis carries out the
seeded fault schedule, heal, wait out the quiet period, take the final readings, then check
the history (results.json, report.html), print a summary, exit 0 only when valid.

Everything the run creates (namespaces, nft rules inside them, agents, VMs' helpers,
ZooKeeper) is removed on exit, on error and on SIGINT/SIGTERM; a run killed outright is
cleaned up by the next one (namespaces named after its pid)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import resource
import shutil
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from chaos import schedule as schedule_mod
from chaos.cluster import Cluster, ClusterError, remove_stale
from chaos.history import Json, load
from chaos.nemesis.runner import Nemesis
from chaos.recorder import Recorder
from chaos.workloads.client import Client
from chaos.workloads.context import Context
from chaos.workloads.convergence import Convergence
from chaos.workloads.membership import MembershipWorkload
from chaos.workloads.set import SetWorkload
from chaos.workloads.topology import TopologyWorkload
from chaos.workloads.traffic import TrafficWorkload
from chaos.zookeeper import ZkError
from datapath.netns import in_netns
from services.demo.netlab import LabError

WORKLOADS = ("set", "topology", "traffic", "membership", "convergence")
NOT_BUILT = {"sessions": "the sessions workload needs SNAT, which is not built yet"}
READY_TIMEOUT = 90.0
"""Seconds for every agent to answer and see all others alive at the start (loaded box)."""
SETTLE_TIMEOUT = 30.0
"""Seconds the final reads wait for the agents to agree after the last writes."""
SAMPLE_EVERY = 5.0
"""Seconds between two memory samples of the run's processes."""


class UsageError(ValueError):
    """Arguments that cannot make a run (exit 2)."""


class Workload(Protocol):
    name: str

    async def run(self) -> None: ...


@dataclass
class Figures:
    """What the runner measures besides the history: memory and timings."""

    peak_rss_bytes: int = 0
    rss_samples: list[int] = field(default_factory=list)
    runner_peak_rss_bytes: int = 0
    setup_seconds: float = 0.0
    run_seconds: float = 0.0
    kill_after_ack_ms: list[float] = field(default_factory=list)
    cross_tenant_samples: dict[str, list[str]] = field(default_factory=dict)
    settled: bool | None = None

    def to_value(self) -> dict[str, Json]:
        return {
            "peak_rss_mib": round(self.peak_rss_bytes / 2**20, 1),
            "mean_rss_mib": round(sum(self.rss_samples) / len(self.rss_samples) / 2**20, 1)
            if self.rss_samples
            else None,
            "runner_peak_rss_mib": round(self.runner_peak_rss_bytes / 2**20, 1),
            "setup_seconds": round(self.setup_seconds, 1),
            "run_seconds": round(self.run_seconds, 1),
            "kill_after_ack_ms": [round(x, 3) for x in self.kill_after_ack_ms],
            "cross_tenant_samples": {k: list(v) for k, v in self.cross_tenant_samples.items()},
            "agreed_before_final_reads": self.settled,
        }


def parse_list(text: str | None, default: str) -> list[str]:
    return [x.strip() for x in (text or default).split(",") if x.strip()]


def workloads_of(text: str | None) -> list[str]:
    names = parse_list(text, "set")
    out: list[str] = []
    for n in names:
        if n == "all":
            out += list(WORKLOADS)
        elif n in NOT_BUILT:
            raise UsageError(f"workload {n}: {NOT_BUILT[n]}")
        elif n in WORKLOADS:
            out.append(n)
        else:
            raise UsageError(f"unknown workload {n!r} (valid: {', '.join(WORKLOADS)}, all)")
    return list(dict.fromkeys(out))


def main(args: argparse.Namespace) -> int:
    """The `meshchaos run` subcommand; returns the exit code."""
    try:
        plan = _plan(args)
    except (UsageError, schedule_mod.ScheduleError) as e:
        print(f"meshchaos run: {e}", file=sys.stderr)
        return 2
    out: Path = plan["out"]
    out.mkdir(parents=True, exist_ok=True)
    for stale in ("history.jsonl", "results.json", "report.html", "figures.json"):
        with contextlib.suppress(FileNotFoundError):
            (out / stale).unlink()
    for stale_dir in ("hosts", "zookeeper"):  # every run starts with empty data dirs
        shutil.rmtree(out / stale_dir, ignore_errors=True)
    removed = remove_stale()
    if removed:
        print(f"removed the namespaces of {removed} earlier run(s) that died")
    sched: schedule_mod.Schedule = plan["schedule"]
    (out / "schedule.json").write_text(json.dumps(sched.to_value(), indent=1) + "\n")
    cluster = Cluster(
        out, int(args.hosts), datapath=str(args.datapath), zookeeper=bool(args.zookeeper)
    )
    figures = Figures()
    old = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # TERM cleans up like ^C
    started = time.monotonic()
    interrupted = False
    try:
        print(f"meshchaos: {args.hosts} hosts, nemeses {','.join(plan['nemeses'])}, "
              f"workloads {','.join(plan['workloads'])}, {len(sched.faults)} faults, "
              f"seed {sched.seed}, out {out}", flush=True)
        cluster.create()
        with in_netns(cluster.underlay_ns):
            asyncio.run(_run(cluster, plan, figures))
    except (KeyboardInterrupt, asyncio.CancelledError):  # ^C / TERM cancel the main task
        interrupted = True
    except (ClusterError, LabError, ZkError, OSError, RuntimeError) as e:
        print(f"meshchaos run: failed: {e}", file=sys.stderr)
        _tails(cluster)
        return 1
    finally:
        for s in old:
            signal.signal(s, signal.SIG_IGN)  # a second ^C must not leave namespaces behind
        cluster.close()
        for s, h in old.items():
            signal.signal(s, h)
    if interrupted:
        print("meshchaos run: interrupted; everything removed", file=sys.stderr)
        return 130
    figures.run_seconds = time.monotonic() - started
    figures.runner_peak_rss_bytes = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return _check(out, plan, figures)


def _plan(args: argparse.Namespace) -> dict[str, Any]:
    if os.geteuid() != 0:
        raise UsageError("needs root (network namespaces, nftables)")
    for tool in ("ip", "nft"):
        if shutil.which(tool) is None:
            raise UsageError(f"{tool} is missing (scripts/setup-system.sh netns)")
    if getattr(args, "cassandra", False):
        raise UsageError("--cassandra: there is no session store to run Cassandra for yet")
    hosts = int(args.hosts)
    if not 2 <= hosts <= 50:
        raise UsageError("--hosts must be between 2 and 50")
    if float(args.time_limit) <= 0:
        raise UsageError("--time-limit must be positive")
    nemeses = parse_list(args.nemesis, "partition")
    names = [f"h{i}" for i in range(1, hosts + 1)]
    sched = schedule_mod.build(
        int(args.seed), float(args.time_limit), names, nemeses, zookeeper=bool(args.zookeeper)
    )
    return {
        "out": Path(args.out),
        "hosts": hosts,
        "nemeses": nemeses,
        "workloads": workloads_of(args.workload),
        "schedule": sched,
        "seed": int(args.seed),
        "time_limit": float(args.time_limit),
        "zookeeper": bool(args.zookeeper),
        "datapath": str(args.datapath),
    }


async def _run(cluster: Cluster, plan: dict[str, Any], figures: Figures) -> None:
    loop = asyncio.get_running_loop()
    main_task = asyncio.current_task()
    assert main_task is not None
    for s in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(s, main_task.cancel)
    client = Client(cluster)
    await client.open()
    recorder: Recorder | None = None
    workloads: list[Any] = []
    traffic: TrafficWorkload | None = None
    convergence: Convergence | None = None
    sampler: asyncio.Task[None] | None = None
    tasks: list[asyncio.Task[None]] = []
    try:
        t_setup = time.monotonic()
        for name in cluster.agents:
            cluster.start_agent(name)
        await _wait_ready(cluster, client)
        recorder = Recorder(plan["out"] / "history.jsonl")
        sched: schedule_mod.Schedule = plan["schedule"]
        recorder.nemesis("params", {
            "hosts": plan["hosts"], "seed": plan["seed"], "nemeses": plan["nemeses"],
            "workloads": plan["workloads"], "time_limit": plan["time_limit"],
            "zookeeper": plan["zookeeper"], "datapath": plan["datapath"],
            "profile": cluster.profile, "schedule": sched.to_value(),
        })  # fmt: skip
        ctx = Context(cluster, recorder, client, random.Random(plan["seed"] + 1))
        chosen = plan["workloads"]
        if "traffic" in chosen:
            traffic = TrafficWorkload(ctx)
            await traffic.setup()
            workloads.append(traffic)
        topo = TopologyWorkload(ctx) if "topology" in chosen else None
        if topo is not None:
            await topo.setup()
            workloads.append(topo)
        sets = SetWorkload(ctx) if "set" in chosen else None
        if sets is not None:
            workloads.append(sets)
        if "membership" in chosen:
            workloads.append(MembershipWorkload(ctx))
        if "convergence" in chosen:
            convergence = Convergence(ctx, topology=topo is not None or traffic is not None)
        figures.setup_seconds = time.monotonic() - t_setup
        sampler = asyncio.create_task(_sample(cluster, figures, ctx))
        base = recorder.now()
        nemesis = Nemesis(
            cluster, recorder, sched, ctx, offset=base,
            on_heal=convergence.healed if convergence is not None else None,
        )  # fmt: skip
        tasks = [asyncio.create_task(w.run()) for w in workloads]
        await nemesis.run()
        figures.kill_after_ack_ms = [d * 1000 for d in nemesis.kill_delays]
        await _wait_ready(cluster, client, members=False)
        delay = base + sched.end - recorder.now()
        if delay > 0:
            await asyncio.sleep(delay)
        ctx.stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        if convergence is not None:
            await convergence.close()
        settle = convergence or Convergence(ctx, topology=topo is not None, record=False)
        figures.settled = await settle.settle(SETTLE_TIMEOUT)
        if sets is not None:
            await sets.final()
        if topo is not None:
            await topo.final()
        if traffic is not None:
            figures.cross_tenant_samples = dict(traffic.cross_samples)
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if sampler is not None:
            sampler.cancel()
        if convergence is not None:
            await convergence.close()
        if traffic is not None:
            await traffic.close()
        await client.close()
        if recorder is not None:
            recorder.close()
        for s in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(s)


async def _wait_ready(cluster: Cluster, client: Client, members: bool = True) -> None:
    """Until every agent answers (and, with `members`, lists every host alive)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + READY_TIMEOUT
    pending = set(cluster.agents)
    while pending:
        for name in sorted(pending):
            agent = cluster.agents[name]
            if agent.proc is not None and agent.proc.poll() is not None:
                raise ClusterError(f"meshd on {name} exited: {cluster.lab.log_tail(agent.host)}")
            path = "/v1/members" if members else "/healthz"
            ans = await client.call(name, "GET", path, timeout=2)
            if not ans.ok:
                continue
            if members:
                alive = {m.get("id") for m in ans.body if m.get("state") == "alive"}
                if not set(cluster.agents) <= alive:
                    continue
            pending.discard(name)
        if pending and loop.time() > deadline:
            raise ClusterError(f"agents not ready after {READY_TIMEOUT:.0f} s: {sorted(pending)}")
        if pending:
            await asyncio.sleep(0.3)


async def _sample(cluster: Cluster, figures: Figures, ctx: Context) -> None:
    while True:
        rss = await asyncio.to_thread(cluster.rss_bytes)
        figures.rss_samples.append(rss)
        figures.peak_rss_bytes = max(figures.peak_rss_bytes, rss)
        await asyncio.sleep(SAMPLE_EVERY)


def _tails(cluster: Cluster) -> None:
    for agent in cluster.agents.values():
        tail = cluster.lab.log_tail(agent.host, 8)
        if tail:
            print(f"--- meshd {agent.name} log tail ---\n{tail}", file=sys.stderr)


def _check(out: Path, plan: dict[str, Any], figures: Figures) -> int:
    from chaos.report import write_outputs

    ops = load(out / "history.jsonl")
    params: dict[str, Json] = {"figures": figures.to_value()}
    results = write_outputs(out, ops, None, params=params)
    (out / "figures.json").write_text(json.dumps(figures.to_value(), indent=1) + "\n")
    summary(results, figures)
    return 0 if results.get("valid") is True else 1


def summary(results: dict[str, Json], figures: Figures) -> None:
    """A few lines: the verdict, each checker's verdict and headline figures, memory."""
    print(f"valid: {results.get('valid')}")
    checkers = results.get("checkers")
    if isinstance(checkers, dict):
        for name, r in checkers.items():
            if not isinstance(r, dict):
                continue
            keys = _HEADLINES.get(name, ())
            figs = ", ".join(f"{k}={_short(r[k])}" for k in keys if k in r)
            print(f"  {name}: {r.get('valid')}" + (f"  ({figs})" if figs else ""))
            if r.get("error"):
                print(f"    error: {r['error']}")
    v = figures.to_value()
    print(f"  memory: peak {v['peak_rss_mib']} MiB in the cluster's processes, "
          f"runner {v['runner_peak_rss_mib']} MiB; setup {v['setup_seconds']} s, "
          f"run {v['run_seconds']} s")


_HEADLINES: dict[str, tuple[str, ...]] = {
    "set": ("attempt_count", "stable_count", "lost_count", "stale_count", "never_read_count"),
    "topology": ("digests_agree", "model_valid", "missing_count", "phantom_count"),
    "traffic": ("cross_tenant_packets", "loss_by_fault", "unreachable_after_heal"),
    "membership": ("false_dead_count", "flap_count"),
    "convergence": ("p50", "p99", "max"),
}


def _short(x: Json) -> str:
    text = json.dumps(x, separators=(",", ":"), default=str)
    return text if len(text) <= 160 else text[:157] + "..."
