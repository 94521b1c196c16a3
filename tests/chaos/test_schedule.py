"""The fault schedule: deterministic per seed, faults 5-30 s with gaps, every asked kind in a
short run, a quiet period at the end, partition shapes that cut what they say."""

from __future__ import annotations

import itertools
import random

import pytest

from chaos.schedule import (
    MAX_FAULT,
    MIN_FAULT,
    MIN_GAP,
    PARTITION_SHAPES,
    ScheduleError,
    build,
    expand,
    partition_cuts,
    quiet_period,
)

HOSTS = [f"h{i}" for i in range(1, 6)]


def test_same_seed_same_schedule() -> None:
    a = build(42, 600, HOSTS, ["all"], zookeeper=True)
    b = build(42, 600, HOSTS, ["all"], zookeeper=True)
    assert a == b
    assert a.to_value() == b.to_value()


def test_other_seed_other_schedule() -> None:
    a = build(1, 600, HOSTS, ["all"])
    b = build(2, 600, HOSTS, ["all"])
    assert a.to_value() != b.to_value()


@pytest.mark.parametrize("seed", range(20))
def test_faults_last_5_to_30_s_with_gaps_and_end_before_the_quiet_period(seed: int) -> None:
    limit = random.Random(seed).choice((60, 120, 600))
    s = build(seed, limit, HOSTS, ["all"])
    assert s.faults
    assert s.heal_at == pytest.approx(limit - quiet_period(limit))
    for f in s.faults:
        assert MIN_FAULT - 1e-9 <= f.end - f.start <= MAX_FAULT + 1e-9
        assert f.end <= s.heal_at + 1e-9
    for a, b in itertools.pairwise(s.faults):
        assert b.start - a.end >= MIN_GAP - 1e-9


def test_a_short_run_still_runs_every_kind_once() -> None:
    s = build(7, 120, HOSTS, ["all"], zookeeper=True)
    names = {f.name for f in s.faults}
    assert names == set(expand(["all"], zookeeper=True))
    assert {f"partition-{p}" for p in PARTITION_SHAPES} <= names
    assert {"kill", "kill-ack", "pause", "clock", "loss", "storm", "zookeeper"} <= names


def test_names_expand_and_bad_names_are_refused() -> None:
    assert expand(["kill"]) == ["kill", "kill-ack"]
    assert expand(["partition-ring", "partition-ring"]) == ["partition-ring"]
    with pytest.raises(ScheduleError, match="unknown nemesis"):
        expand(["meteor"])
    with pytest.raises(ScheduleError, match="--zookeeper"):
        expand(["zookeeper"])
    with pytest.raises(ScheduleError, match="no room"):
        build(1, 8, HOSTS, ["pause"])


def test_fault_parameters_are_in_range() -> None:
    s = build(3, 3600, HOSTS, ["loss", "clock", "storm"])
    for f in s.faults:
        if f.kind == "loss":
            assert 10 <= f.percent <= 40 and f.hosts
        elif f.kind == "clock":
            assert 2 <= abs(f.skew) <= 120
        elif f.kind == "storm":
            assert f.restarts
            assert all(0 < t < f.end - f.start for t, _ in f.restarts)


def _reach(host: str, cuts: tuple[tuple[str, str], ...], hosts: list[str]) -> set[str]:
    blocked = {frozenset(c) for c in cuts}
    return {o for o in hosts if o == host or frozenset((host, o)) not in blocked}


@pytest.mark.parametrize("n", [3, 4, 5, 7])
def test_partition_shapes(n: int) -> None:
    hosts = HOSTS[:3] + [f"x{i}" for i in range(n - 3)] if n > 5 else HOSTS[:n]
    rng = random.Random(n)
    halves = partition_cuts(rng, "halves", hosts)
    assert len(halves) == (n // 2) * (n - n // 2)
    isolate = partition_cuts(rng, "isolate", hosts)
    alone = [h for h in hosts if _reach(h, isolate, hosts) == {h}]
    assert len(alone) == 1 and len(isolate) == n - 1
    ring = partition_cuts(rng, "ring", hosts)
    assert ring
    if n >= 4:  # every host sees a majority, and not all the same one
        views = [frozenset(_reach(h, ring, hosts)) for h in hosts]
        assert all(len(v) > n // 2 for v in views)
        assert len(set(views)) > 1
    bridge = partition_cuts(rng, "bridge", hosts)
    bridges = [h for h in hosts if _reach(h, bridge, hosts) == set(hosts)]
    assert len(bridges) >= 1 and bridge
    rand = partition_cuts(rng, "random", hosts)
    assert rand and all(a < b for a, b in rand)
