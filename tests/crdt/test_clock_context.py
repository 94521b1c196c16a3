"""Hybrid logical clock and causal context properties."""

from __future__ import annotations

import random
from collections.abc import Iterator

from hypothesis import given
from hypothesis import strategies as st

import crdt
from crdt import HLC, CausalContext, Dot, LWWRegister

DOTS = st.lists(st.tuples(st.sampled_from("abc"), st.integers(1, 12)), max_size=40)


@given(dots=DOTS, seed=st.integers(0, 2**32))
def test_context_canonical_whatever_the_order(dots: list[tuple[str, int]], seed: int) -> None:
    ds = [Dot(r, n) for r, n in dots]
    a = CausalContext.from_dots(ds)
    shuffled = list(ds)
    random.Random(seed).shuffle(shuffled)
    b = CausalContext()
    for d in shuffled:
        b.add(d)
    assert a == b and repr(a) == repr(b)
    assert set(a.dots()) == set(ds) and a.dot_count() == len(set(ds))
    for r in "abc":
        # Compact: no cloud dot is covered by, or adjacent to, the version vector.
        assert all(d.counter > a.vv.get(r, 0) + 1 for d in a.cloud if d.replica == r)
        assert a.next_dot(r) == Dot(r, max([n for q, n in set(ds) if q == r], default=0) + 1)
    for d in [Dot(r, n) for r in "abcd" for n in range(1, 14)]:
        assert (d in a) == (d in set(ds)) == a.covers(d)


@given(x=DOTS, y=DOTS)
def test_context_join_is_union(x: list[tuple[str, int]], y: list[tuple[str, int]]) -> None:
    a = CausalContext.from_dots(Dot(*d) for d in x)
    b = CausalContext.from_dots(Dot(*d) for d in y)
    j = a.join(b)
    assert j == CausalContext.from_dots(Dot(*d) for d in x + y)
    assert j == b.join(a)
    assert a == CausalContext.from_dots(Dot(*d) for d in x)  # join left a unchanged
    c = a.copy()
    c.update(b)
    assert c == j


def _clock(readings: list[int]) -> Iterator[int]:
    yield from readings
    while True:
        yield readings[-1] if readings else 0


@given(
    readings=st.lists(st.integers(0, 10**6), min_size=1, max_size=30),
    observed=st.lists(st.tuples(st.integers(0, 2 * 10**6), st.integers(0, 5)), max_size=30),
)
def test_hlc_monotonic_and_after_observed(
    readings: list[int], observed: list[tuple[int, int]]
) -> None:
    src = _clock(readings)
    h = HLC(clock=lambda: next(src))
    last = (-1, -1)
    obs = iter(observed)
    for _ in range(len(readings) + 5):
        after = next(obs, None)
        s = h.stamp(after)
        assert s > last
        if after is not None:
            assert s > after
        last = s


def test_registry_clock_is_injectable() -> None:
    now = [1_000]
    crdt.set_physical_clock(lambda: now[0])
    crdt.reset_clocks()
    try:
        r = LWWRegister()
        d1 = r.assign("x", 1)
        assert d1.timestamp == (1_000, 0, "x")
        r.apply(d1)
        assert r.assign("x", 2).timestamp == (1_000, 1, "x")
        now[0] = 5_000
        assert r.assign("y", 3).timestamp == (5_000, 0, "y")
        # A clock behind the register's stamp still produces a later stamp.
        now[0] = 10
        d = r.assign("z", 4)
        assert d.timestamp is not None and d.timestamp > (1_000, 0, "x")
    finally:
        crdt.set_physical_clock(None)
        crdt.reset_clocks()


def test_explicit_timestamp_replay() -> None:
    r = LWWRegister()
    r.apply(r.assign("a", "old", timestamp=(10, 0, "a")))
    r.apply(r.assign("b", "older", timestamp=(9, 5, "b")))
    assert r.value() == "old"
    r.apply(r.assign("b", "newer", timestamp=(10, 0, "b")))  # same wall/logical, b > a
    assert r.value() == "newer"
