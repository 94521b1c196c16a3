"""Fault windows from the nemesis ops: which hosts were down, paused, cut off or lossy when.

Checkers ask these questions to judge an observation (was a dead declaration justified?
which fault window did a lost ping fall in?)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from chaos.history import HEAL, NEMESIS, START, STOP, Json, Op

HostPair = tuple[str, str]


@dataclass(frozen=True, slots=True)
class FaultWindow:
    """One fault from its start op to its stop op (end = inf if never stopped)."""

    fault: str
    start: float
    end: float
    value: Json

    def covers(self, t: float) -> bool:
        return self.start <= t < self.end

    def overlaps(self, t0: float, t1: float) -> bool:
        return self.start < t1 and t0 < self.end

    @property
    def hosts(self) -> frozenset[str]:
        """Hosts the fault acts on: `hosts`, or every host named in `blocked`/`groups`."""
        v = self.value if isinstance(self.value, dict) else {}
        out: set[str] = set()
        hosts = v.get("hosts")
        if isinstance(hosts, list):
            out.update(h for h in hosts if isinstance(h, str))
        for a, b in self.blocked:
            out.update((a, b))
        return frozenset(out)

    @property
    def blocked(self) -> frozenset[HostPair]:
        """Unordered host pairs that cannot talk: `blocked`, else derived from `groups`."""
        v = self.value if isinstance(self.value, dict) else {}
        out: set[HostPair] = set()
        blocked = v.get("blocked")
        if isinstance(blocked, list):
            for p in blocked:
                if isinstance(p, list) and len(p) == 2 and all(isinstance(h, str) for h in p):
                    out.add(_pair(str(p[0]), str(p[1])))
            return frozenset(out)
        groups = v.get("groups")
        if isinstance(groups, list):
            gs = [[h for h in g if isinstance(h, str)] for g in groups if isinstance(g, list)]
            for i, g in enumerate(gs):
                for other in gs[i + 1 :]:
                    out.update(_pair(a, b) for a in g for b in other)
        return frozenset(out)

    @property
    def kind(self) -> str:
        v = self.value if isinstance(self.value, dict) else {}
        k = v.get("kind")
        return f"{self.fault}:{k}" if isinstance(k, str) else self.fault


def _pair(a: str, b: str) -> HostPair:
    return (a, b) if a <= b else (b, a)


@dataclass(frozen=True, slots=True)
class Faults:
    """Every fault window of a history, and the heal times."""

    windows: tuple[FaultWindow, ...]
    heals: tuple[float, ...]  # times of stop-* and heal ops, ascending
    final_heal: float | None
    end: float  # time of the last op
    hosts: frozenset[str] = field(default_factory=frozenset)

    def active(self, t: float, fault: str | None = None) -> list[FaultWindow]:
        return [w for w in self.windows if w.covers(t) and (fault is None or w.fault == fault)]

    def overlapping(self, t0: float, t1: float, fault: str | None = None) -> list[FaultWindow]:
        return [
            w for w in self.windows if w.overlaps(t0, t1) and (fault is None or w.fault == fault)
        ]

    def down(self, host: str, t0: float, t1: float) -> bool:
        """Was `host` killed, paused or restart-stormed at any moment of [t0, t1]?"""
        return any(
            host in w.hosts
            for w in self.windows
            if w.fault in ("kill", "pause", "restart-storm") and w.start <= t1 and t0 < w.end
        )

    def blocked_at(self, t: float) -> frozenset[HostPair]:
        out: set[HostPair] = set()
        for w in self.active(t, "partition"):
            out |= w.blocked
        return frozenset(out)

    def lossy(self, host: str, t0: float, t1: float) -> bool:
        return any(host in w.hosts for w in self.overlapping(t0, t1, "loss"))


def faults_of(ops: Sequence[Op], hosts: frozenset[str] = frozenset()) -> Faults:
    """Build the windows: each stop-X closes the oldest open start-X; `heal` closes all."""
    open_: dict[str, list[tuple[float, Json]]] = {}
    windows: list[FaultWindow] = []
    heals: list[float] = []
    final_heal: float | None = None
    end = 0.0
    seen_hosts = set(hosts)
    for op in ops:
        end = max(end, op.time)
        if op.process != NEMESIS or op.type == "invoke":
            continue
        if op.f.startswith(START):
            open_.setdefault(op.f[len(START) :], []).append((op.time, op.value))
        elif op.f.startswith(STOP):
            fault = op.f[len(STOP) :]
            starts = open_.get(fault)
            if starts:
                t0, v = starts.pop(0)
                windows.append(FaultWindow(fault, t0, op.time, v))
            heals.append(op.time)
        elif op.f == HEAL:
            for fault, starts in open_.items():
                windows.extend(FaultWindow(fault, t0, op.time, v) for t0, v in starts)
            open_ = {}
            heals.append(op.time)
            final_heal = op.time
    for fault, starts in open_.items():
        windows.extend(FaultWindow(fault, t0, math.inf, v) for t0, v in starts)
    for w in windows:
        seen_hosts |= w.hosts
    if final_heal is None and heals and not any(open_.values()):
        final_heal = heals[-1]  # no explicit heal op: the last stop, if nothing stays open
    windows.sort(key=lambda w: w.start)
    if final_heal is not None and any(w.start > final_heal for w in windows):
        final_heal = None  # a fault began after the "final" heal: there is none
    return Faults(tuple(windows), tuple(sorted(heals)), final_heal, end, frozenset(seen_hosts))
