"""The session table: lookups, idle expiry refreshed by touch, bounds, ports, snapshots."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from services.session.config import SessionConfig
from services.session.entries import ConnEntry, NatEntry, SessionPorts
from services.session.keys import ConnKey, FlowTuple
from services.session.nat import NatBinding, NatDirection, NatKey, NatKind
from services.session.table import SessionTable, SnapshotItem

DEV = "00000000-0000-4000-8000-0000000000d1"
ROUTER = "00000000-0000-4000-8000-0000000000d2"
P_IN = "00000000-0000-4000-8000-0000000000a1"
P_OUT = "00000000-0000-4000-8000-0000000000a2"
P_OTHER = "00000000-0000-4000-8000-0000000000a3"
PORTS = SessionPorts(P_IN, (P_OUT,))


def conn(i: int, ports: SessionPorts = PORTS) -> ConnEntry:
    return ConnEntry(ConnKey(DEV, FlowTuple(6, 10, 1000 + i, 20, 80)), ports)


def snat(i: int) -> NatEntry:
    orig = FlowTuple(6, 10, 1000 + i, 99, 443)
    trans = FlowTuple(6, 7, 40000 + i, 99, 443)
    return NatEntry(ROUTER, NatKind.SNAT, NatBinding(orig, trans), PORTS)


def test_default_idle_timeout_is_60s() -> None:
    assert SessionConfig().idle_timeout == 60.0
    assert SessionTable().idle_timeout == 60.0


def test_conntrack_lookup_and_return_key() -> None:
    t = SessionTable()
    e = conn(1)
    t.put(e, now=0)
    assert t.conntrack(e.key) == e
    assert t.conntrack(e.key.reversed()) is None
    assert t.get(e.key) == e


def test_nat_found_by_forward_and_return_key() -> None:
    t = SessionTable()
    e = snat(1)
    t.put(e, now=0)
    fwd = NatKey(ROUTER, NatKind.SNAT, NatDirection.FORWARD, FlowTuple(6, 10, 1001, 99, 443))
    # the reply comes from 99:443 to the SNAT address 7:40001
    ret = NatKey(ROUTER, NatKind.SNAT, NatDirection.RETURN, FlowTuple(6, 99, 443, 7, 40001))
    assert t.nat(fwd) == e
    assert t.nat(ret) == e
    assert t.nat(NatKey(ROUTER, NatKind.DNAT, NatDirection.RETURN, ret.flow)) is None
    assert t.touch(ret, now=30)
    assert t.idle_for(fwd, now=31) == 1.0
    t.remove(ret)
    assert t.nat(fwd) is None and t.nat(ret) is None and len(t) == 0


def test_idle_expiry_refreshed_by_touch() -> None:
    t = SessionTable(idle_timeout=60)
    a, b = conn(1), conn(2)
    t.put_many([a, b], now=0)
    assert t.touch(a.key, now=50)
    assert t.expired(59.9) == []
    assert t.expired(60) == [b]  # b idle for 60 s: gone; a was used at 50
    assert t.conntrack(a.key) == a
    assert t.expired(109.9) == []
    assert t.expired(110) == [a]
    assert len(t) == 0
    assert not t.touch(a.key, now=111)


def test_touch_never_moves_expiry_back() -> None:
    t = SessionTable(idle_timeout=10)
    a = conn(1)
    t.put(a, now=5)
    t.touch(a.key, now=1)
    assert t.expired(14.9) == [] and t.expired(15) == [a]


def test_bound_evicts_the_longest_idle() -> None:
    t = SessionTable(idle_timeout=60, max_entries=3)
    es = [conn(i) for i in range(3)]
    for i, e in enumerate(es):
        t.put(e, now=i)
    t.touch(es[0].key, now=10)  # es[1] is now the longest idle
    assert t.put(conn(9), now=11) == [es[1]]
    assert len(t) == 3
    assert t.conntrack(es[1].key) is None and t.conntrack(es[0].key) == es[0]


def test_replacing_an_entry_keeps_one() -> None:
    t = SessionTable(max_entries=2)
    t.put(conn(1), now=0)
    moved = conn(1, SessionPorts(P_OTHER))
    assert t.put(moved, now=1) == []
    assert len(t) == 1
    assert t.by_port(P_IN) == [] and t.by_port(P_OTHER) == [moved]


def test_by_port_and_remove_port() -> None:
    t = SessionTable()
    a, b = conn(1), conn(2, SessionPorts(P_OTHER, (P_IN,)))
    t.put_many([a, b, snat(3)], now=0)
    assert len(t.by_port(P_IN)) == 3
    assert t.by_port(P_OTHER) == [b]
    assert len(t.by_port(P_OUT)) == 2
    assert sorted(map(repr, t.remove_port(P_OUT))) == sorted(map(repr, [a, snat(3)]))
    assert t.by_port(P_IN) == [b] and len(t) == 1


def test_snapshot_restore_keeps_idle_times() -> None:
    t = SessionTable(idle_timeout=60)
    a, b, old = conn(1), snat(2), conn(3)
    t.put_many([a, b, old], now=0)
    t.touch(a.key, now=40)
    t.touch(b.key, now=30)
    snap = t.snapshot(now=59)  # old: idle 59 s, still live
    assert {i.entry.key: i.idle_for for i in snap} == {a.key: 19, b.key: 29, old.key: 59}
    u = SessionTable(idle_timeout=60)
    u.restore(snap, now=1000)  # a different clock: only idle times matter
    assert len(u) == 3
    assert u.nat(b.return_key) == b
    assert u.expired(1000.9) == []
    assert u.expired(1001) == [old]
    assert u.expired(1031) == [b]
    assert u.nat(b.return_key) is None
    assert u.expired(1041) == [a]


def test_restore_skips_expired_items() -> None:
    t = SessionTable(idle_timeout=60)
    t.restore([SnapshotItem(conn(1), 60.0), SnapshotItem(conn(2), 59.0)], now=0)
    assert [e.key for e in t] == [conn(2).key]


def test_refresh_due_offers_used_entries_once_per_interval() -> None:
    t = SessionTable(idle_timeout=60)
    a, b = conn(1), conn(2)
    t.put_many([a, b], now=0)  # offered by the caller at 0
    assert t.refresh_due(now=25, interval=20) == []  # nothing used since
    t.touch(a.key, now=10)
    assert t.refresh_due(now=15, interval=20) == []  # offered only 15 s ago
    assert t.refresh_due(now=25, interval=20) == [a]
    assert t.refresh_due(now=30, interval=20) == []  # offered at 25
    t.touch(a.key, now=31)
    assert t.refresh_due(now=46, interval=20) == [a]


ops = st.lists(
    st.tuples(
        st.sampled_from(["put", "touch", "remove", "expire"]), st.integers(0, 9), st.integers(0, 5)
    ),
    max_size=60,
)


@settings(max_examples=200)
@given(ops)
def test_against_a_model(script: list[tuple[str, int, int]]) -> None:
    """Random put/touch/remove/expire sequences agree with a dict of last-use times."""
    idle, cap = 10.0, 6
    t = SessionTable(idle_timeout=idle, max_entries=cap)
    model: dict[ConnKey, float] = {}
    now = 0.0
    for op, i, dt in script:
        now += dt
        e = conn(i)
        if op == "put":
            evicted = t.put(e, now)
            if e.key in model:
                model[e.key] = max(model[e.key], now)
                assert evicted == []
            else:
                for v in evicted:
                    assert model[v.key] == min(model.values())
                    del model[v.key]
                model[e.key] = now
            assert len(model) <= cap
        elif op == "touch":
            assert t.touch(e.key, now) == (e.key in model)
            if e.key in model:
                model[e.key] = max(model[e.key], now)
        elif op == "remove":
            assert (t.remove(e.key) is not None) == (e.key in model)
            model.pop(e.key, None)
        else:
            gone = {x.key for x in t.expired(now)}
            want = {k for k, used in model.items() if used + idle <= now}
            assert gone == want
            for k in want:
                del model[k]
        assert len(t) == len(model)
        assert {x.key for x in t} == set(model)
