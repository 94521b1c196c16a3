"""FlowTracker: hard timeouts, the cap, tag invalidation (pure)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from services.agent.flowtrack import FlowTracker, TrackedFlow


def _flow(n: int, deadline: float, *tags: tuple[str, str]) -> TrackedFlow:
    return TrackedFlow(bytes([n]) * 16, frozenset(tags), 0.0, deadline, f"f{n}")


def test_expiry_cap_and_tags() -> None:
    t = FlowTracker(max_flows=3)
    assert t.add(_flow(1, 60, ("port", "p1"))) == []
    assert t.add(_flow(2, 5, ("port", "p2"), ("rule", "r"))) == []
    assert t.add(_flow(3, 60, ("rule", "r"))) == []
    # over the cap: the soonest-expiring flow goes first
    assert t.add(_flow(4, 60)) == [bytes([2]) * 16]
    assert len(t) == 3
    assert t.invalidate([("rule", "r")]) == [bytes([3]) * 16]
    assert t.expired(59.9) == []
    assert sorted(t.expired(60)) == [bytes([1]) * 16, bytes([4]) * 16]
    assert len(t) == 0


def test_readding_a_ufid_replaces_its_deadline() -> None:
    t = FlowTracker(max_flows=10)
    t.add(_flow(1, 5))
    t.add(_flow(1, 60))
    assert t.expired(10) == []
    assert t.expired(61) == [bytes([1]) * 16]


@given(st.lists(st.tuples(st.integers(0, 20), st.floats(0, 100), st.integers(0, 3)), max_size=60))
def test_never_over_cap_and_index_consistent(ops: list[tuple[int, float, int]]) -> None:
    t = FlowTracker(max_flows=8)
    for n, deadline, tag in ops:
        t.add(_flow(n, deadline, ("t", str(tag))))
        assert len(t) <= 8
    live = {f.ufid for f in t}
    gone = set(t.invalidate([("t", "0"), ("t", "1")]))
    assert gone <= live
    assert all(("t", "0") not in f.tags and ("t", "1") not in f.tags for f in t)
    assert set(t.expired(1000)) == live - gone


_TAGS = [("t", str(i)) for i in range(5)]
_OPS = st.lists(
    st.one_of(
        st.tuples(
            st.just("add"),
            st.integers(0, 12),
            st.sampled_from([5.0, 60.0]),
            st.sets(st.sampled_from(_TAGS), max_size=4),
        ),
        st.tuples(st.just("remove"), st.integers(0, 12), st.just(0.0), st.just(set())),
        st.tuples(
            st.just("invalidate"),
            st.just(0),
            st.just(0.0),
            st.sets(st.sampled_from(_TAGS), min_size=1, max_size=2),
        ),
        st.tuples(st.just("expire"), st.just(0), st.sampled_from([5.0, 60.0]), st.just(set())),
    ),
    max_size=80,
)


@given(_OPS)
def test_shared_tag_set_index_invalidates_like_a_per_tag_scan(
    ops: list[tuple[str, int, float, set[tuple[str, str]]]],
) -> None:
    """Flows sharing a tag set are indexed once per set: whatever the sequence of adds,
    removes, invalidations and expiries, the flows invalidated are exactly those a plain
    scan of every live flow's tags finds (the reference), and nothing stale lingers."""
    t = FlowTracker(max_flows=6)
    live: dict[bytes, TrackedFlow] = {}  # the reference model
    for op, n, deadline, tags in ops:
        if op == "add":
            flow = _flow(n, deadline, *sorted(tags))
            for victim in t.add(flow):
                del live[victim]
            live[flow.ufid] = flow
        elif op == "remove":
            assert (t.remove(bytes([n]) * 16) is not None) == (live.pop(bytes([n]) * 16, None)
                                                               is not None)  # fmt: skip
        elif op == "invalidate":
            want = sorted(u for u, f in live.items() if f.tags & tags)
            assert t.invalidate(tags) == want
            for u in want:
                del live[u]
        else:
            want_set = {u for u, f in live.items() if f.deadline <= deadline}
            assert set(t.expired(deadline)) == want_set
            for u in want_set:
                del live[u]
        assert {f.ufid for f in t} == set(live)
    assert t.invalidate(_TAGS) == sorted(u for u, f in live.items() if f.tags)
