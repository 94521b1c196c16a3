"""The fault schedule of a run: which fault, when, on which hosts. Pure: the same seed, time
limit, hosts and nemesis list always give the same schedule (no clock, no I/O).

Faults last 5-30 s, one at a time, with 1-5 s gaps between them; the first cycle runs every
requested kind once (in a seeded order) so that a short run still exercises each of them;
after `heal_at` nothing is faulty (the runner heals everything) and the run ends with a quiet
period in which the convergence readings are taken.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

PARTITION_SHAPES = ("halves", "isolate", "ring", "bridge", "random")
"""Partition shapes: two halves, one host alone, a ring of overlapping majorities, two
halves joined by one bridge host, random pairwise cuts."""

KINDS = ("partition", "loss", "kill", "pause", "clock", "storm", "zookeeper")
"""Nemesis names accepted by --nemesis (plus `all`, and `partition-<shape>` for one shape).
`kill` means both SIGKILL at a random moment and SIGKILL within ms of an acknowledged write
(`kill-ack`); `zookeeper` (the ZooKeeper leader kill) needs --zookeeper."""

MIN_FAULT = 5.0
"""Shortest fault: long enough for failure detection (local profile: ~3 s) to react."""
MAX_FAULT = 30.0
"""Longest fault: long enough to outlast suspicion and reconnect timers several times."""
MIN_GAP, MAX_GAP = 1.0, 5.0
"""Seconds between two faults: short heals test recovery while faults keep coming."""
WARMUP = 5.0
"""Seconds before the first fault, so the workloads have a baseline."""


class ScheduleError(ValueError):
    """A nemesis name that does not exist, or a run too short for any fault."""


@dataclass(frozen=True, slots=True)
class Fault:
    """One fault window [start, end) in seconds since the run's start.

    `kind` is the nemesis (`partition`, `loss`, `kill`, `kill-ack`, `pause`, `clock`,
    `storm`, `zookeeper`); `hosts` the hosts it acts on; `shape` and `cuts` (pairs of hosts
    that cannot reach each other) for partitions; `percent` for loss; `skew` (seconds) for
    clock; `restarts` ((offset into the window, host), ...) for storms.
    """

    kind: str
    start: float
    end: float
    hosts: tuple[str, ...]
    shape: str = ""
    cuts: tuple[tuple[str, str], ...] = ()
    percent: int = 0
    skew: float = 0.0
    restarts: tuple[tuple[float, str], ...] = ()

    @property
    def name(self) -> str:
        """`partition-halves`, `kill-ack`, `loss`, ...: the kind with its shape."""
        return f"{self.kind}-{self.shape}" if self.shape else self.kind

    def to_value(self) -> dict[str, Any]:
        """The fault as plain JSON (the `value` of its history ops)."""
        out: dict[str, Any] = {
            "fault": self.name,
            "kind": self.kind,
            "start": round(self.start, 3),
            "end": round(self.end, 3),
            "hosts": list(self.hosts),
        }
        if self.shape:
            out["shape"] = self.shape
            out["cuts"] = [list(c) for c in self.cuts]
        if self.kind == "loss":
            out["percent"] = self.percent
        if self.kind == "clock":
            out["skew"] = self.skew
        if self.restarts:
            out["restarts"] = [[round(t, 3), h] for t, h in self.restarts]
        return out


@dataclass(frozen=True, slots=True)
class Schedule:
    """The faults in time order, when everything is healed, and when the run ends."""

    faults: tuple[Fault, ...]
    heal_at: float
    end: float
    seed: int

    def to_value(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "heal_at": round(self.heal_at, 3),
            "end": round(self.end, 3),
            "faults": [f.to_value() for f in self.faults],
        }


def expand(names: Sequence[str], zookeeper: bool = False) -> list[str]:
    """The cycle items of a nemesis list: `all` -> every kind, `partition` -> each shape,
    `kill` -> `kill` and `kill-ack`; ScheduleError for an unknown name (or `zookeeper`
    without --zookeeper)."""
    items: list[str] = []
    for raw in names:
        name = raw.strip()
        if not name:
            continue
        if name == "all":
            sub = [k for k in KINDS if k != "zookeeper" or zookeeper]
            items += expand(sub, zookeeper)
        elif name == "partition":
            items += [f"partition-{s}" for s in PARTITION_SHAPES]
        elif name.startswith("partition-") and name[len("partition-") :] in PARTITION_SHAPES:
            items.append(name)
        elif name == "kill":
            items += ["kill", "kill-ack"]
        elif name == "kill-ack":
            items.append(name)
        elif name == "zookeeper":
            if not zookeeper:
                raise ScheduleError("nemesis zookeeper needs --zookeeper")
            items.append(name)
        elif name in KINDS:
            items.append(name)
        else:
            shapes = [f"partition-{s}" for s in PARTITION_SHAPES]
            valid = ", ".join([*KINDS, "all", "kill-ack", *shapes])
            raise ScheduleError(f"unknown nemesis {name!r} (valid: {valid})")
    return list(dict.fromkeys(items))


def quiet_period(time_limit: float) -> float:
    """Seconds of calm at the end: 20% of the run, at least 10 s, at most 60 s."""
    return min(60.0, max(10.0, 0.2 * time_limit))


def build(
    seed: int,
    time_limit: float,
    hosts: Sequence[str],
    nemeses: Sequence[str],
    zookeeper: bool = False,
) -> Schedule:
    """The schedule for a run (deterministic in its arguments)."""
    if len(hosts) < 2:
        raise ScheduleError("a run needs at least 2 hosts")
    items = expand(nemeses, zookeeper)
    heal_at = time_limit - quiet_period(time_limit)
    rng = random.Random(seed)
    faults: list[Fault] = []
    t = min(WARMUP, max(0.0, heal_at - MIN_FAULT))
    if items and heal_at - t < MIN_FAULT:
        raise ScheduleError(
            f"--time-limit {time_limit:g} leaves no room for a fault "
            f"(quiet period {quiet_period(time_limit):g} s, faults last >= {MIN_FAULT:g} s)"
        )
    first = True
    while items:
        order = rng.sample(items, len(items))
        for i, item in enumerate(order):
            room = heal_at - t
            if room < MIN_FAULT:
                break
            longest, widest = min(MAX_FAULT, room), MAX_GAP
            if first:
                # share what is left among the kinds not yet run, so each runs once
                share = room / (len(order) - i)
                longest = max(MIN_FAULT, min(longest, share - MIN_GAP))
            duration = rng.uniform(MIN_FAULT, longest)
            if first:
                widest = max(MIN_GAP, min(MAX_GAP, share - duration))
            faults.append(_fault(rng, item, t, t + duration, list(hosts)))
            t += duration + rng.uniform(MIN_GAP, widest)
        else:
            first = False
            continue
        break
    return Schedule(tuple(faults), heal_at, float(time_limit), seed)


def _fault(rng: random.Random, item: str, start: float, end: float, hosts: list[str]) -> Fault:
    if item.startswith("partition-"):
        shape = item[len("partition-") :]
        cuts = partition_cuts(rng, shape, hosts)
        touched = sorted({h for c in cuts for h in c})
        return Fault("partition", start, end, tuple(touched), shape=shape, cuts=cuts)
    if item == "loss":
        k = rng.randint(1, max(1, len(hosts) // 2 + 1))
        chosen = sorted(rng.sample(hosts, k))
        return Fault("loss", start, end, tuple(chosen), percent=rng.randint(10, 40))
    if item == "clock":
        magnitude = rng.choice((rng.uniform(2, 20), rng.uniform(20, 120)))
        skew = round(magnitude * rng.choice((-1, 1)), 1)
        return Fault("clock", start, end, (rng.choice(hosts),), skew=skew)
    if item == "storm":
        restarts: list[tuple[float, str]] = []
        offset = 0.0
        while True:
            offset += rng.uniform(0.5, 2.5)
            if offset >= end - start - 0.5:
                break
            restarts.append((round(offset, 3), rng.choice(hosts)))
        touched = sorted({h for _, h in restarts})
        return Fault("storm", start, end, tuple(touched), restarts=tuple(restarts))
    if item == "zookeeper":
        return Fault("zookeeper", start, end, ())
    # kill, kill-ack, pause: one host
    return Fault(item, start, end, (rng.choice(hosts),))


def partition_cuts(
    rng: random.Random, shape: str, hosts: list[str]
) -> tuple[tuple[str, str], ...]:
    """The host pairs a partition of `shape` cuts (each pair sorted, the list sorted)."""
    order = rng.sample(hosts, len(hosts))
    n = len(order)
    cut: set[tuple[str, str]] = set()

    def sever(a: str, b: str) -> None:
        if a != b:
            cut.add((min(a, b), max(a, b)))

    if shape == "halves":
        side = order[: n // 2]
        for a in side:
            for b in order[n // 2 :]:
                sever(a, b)
    elif shape == "isolate":
        for b in order[1:]:
            sever(order[0], b)
    elif shape == "ring":
        # each host keeps its ring neighbours within `reach`: it sees a majority (itself
        # included) but the majorities of different hosts differ
        reach = (n // 2 + 1) // 2
        for i in range(n):
            for j in range(i + 1, n):
                d = min(j - i, n - (j - i))
                if d > reach:
                    sever(order[i], order[j])
        if not cut:  # 3 hosts: every pair is adjacent; cut one edge of the ring
            sever(order[0], order[1])
    elif shape == "bridge":
        rest = order[1:]
        half = len(rest) // 2
        for a in rest[:half]:
            for b in rest[half:]:
                sever(a, b)
    elif shape == "random":
        pairs = [(order[i], order[j]) for i in range(n) for j in range(i + 1, n)]
        for a, b in pairs:
            if rng.random() < 0.5:
                sever(a, b)
        if not cut:
            sever(*rng.choice(pairs))
    else:
        raise ScheduleError(f"unknown partition shape {shape!r}")
    return tuple(sorted(cut))
