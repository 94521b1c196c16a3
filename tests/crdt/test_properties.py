"""Hypothesis properties of every type over random three-replica histories.

Each history interleaves operations, single-delta deliveries, delta groups and full-state
syncs; then every replica receives every delta in a shuffled order with duplicates. We
check: mutators leave their receiver alone; a delta does the same on a copy of its origin;
join is commutative, associative and idempotent over the states of the history and agrees
with apply; all replicas converge to the join of all deltas, with equal encodings; the
converged value matches the causal model of the harness (add-wins, observed-remove).
"""

from __future__ import annotations

import random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import crdt
from tests.crdt.cases import CASES, STEPS, expected_value
from tests.crdt.harness import Sim


@pytest.mark.parametrize("name", sorted(CASES))
@given(steps=STEPS, seed=st.integers(0, 2**32 - 1), data=st.data())
def test_history_converges_to_model(name: str, steps: Any, seed: int, data: Any) -> None:
    new, op_fn = CASES[name]
    sim = Sim(new, op_fn)
    sim.run(steps)

    # Lattice laws over states of this history.
    snaps = sim.snapshots
    ia, ib, ic = (data.draw(st.integers(0, len(snaps) - 1)) for _ in range(3))
    a, b, c = snaps[ia][0], snaps[ib][0], snaps[ic][0]
    ab = a.join(b)
    assert ab == b.join(a)
    assert ab.join(c) == a.join(b.join(c))
    assert a.join(a) == a
    assert a.copy().apply(b) == ab
    assert crdt.encode(ab) == crdt.encode(b.join(a))

    sim.quiesce(random.Random(seed))
    ref = sim.reference()
    for s in sim.states:
        assert s == ref
        assert s.value() == ref.value()
    encs = {crdt.encode(s) for s in sim.states}
    assert len(encs) == 1
    assert crdt.decode(encs.pop()) == ref

    assert ref.value() == expected_value(name, sim)

    # Snapshots (copies) and deltas were not changed by anything done to replicas since.
    for snap, enc in snaps:
        assert crdt.encode(snap) == enc
    for op in sim.ops:
        assert crdt.encode(op.delta) == op.encoded


RACE_STEP = st.tuples(
    st.sampled_from([0, 0, 0, 4, 4, 5, 6]),
    st.integers(0, 2),
    st.integers(0, 60),
    st.integers(0, 60),
    st.integers(0, 1),
)


@pytest.mark.parametrize(
    "name", ["map_lww", "map_gcounter", "nested_lww", "nested_gcounter", "deep_awset"]
)
@settings(max_examples=300)
@given(steps=st.lists(RACE_STEP, min_size=5, max_size=60), seed=st.integers(0, 2**32 - 1))
def test_map_remove_update_races(name: str, steps: Any, seed: int) -> None:
    """Long histories on two keys, mostly concurrent operations and partial delivery."""
    new, op_fn = CASES[name]
    sim = Sim(new, op_fn)
    sim.run(steps)
    sim.quiesce(random.Random(seed))
    ref = sim.reference()
    assert all(s == ref for s in sim.states)
    assert len({crdt.encode(s) for s in sim.states}) == 1
    assert ref.value() == expected_value(name, sim)
