"""Example-based checks of each type's semantics (the property tests live beside)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

import crdt
from crdt import (
    HLC,
    AWSet,
    CausalContext,
    DecodeError,
    Dot,
    EWFlag,
    GCounter,
    LWWRegister,
    MVRegister,
    ORMap,
    PNCounter,
)


def test_context_compacts_to_canonical_form() -> None:
    a = CausalContext.from_dots([Dot("r", 3), Dot("r", 1)])
    assert a.vv == {"r": 1} and a.cloud == {Dot("r", 3)}
    a.add(Dot("r", 2))
    assert a.vv == {"r": 3} and not a.cloud
    assert a == CausalContext({"r": 3})
    assert Dot("r", 2) in a and Dot("r", 4) not in a
    assert a.next_dot("r") == Dot("r", 4) and a.next_dot("q") == Dot("q", 1)


def test_mutators_do_not_change_receiver() -> None:
    s = AWSet()
    d = s.add("r1", "x")
    assert s.value() == set() and d.value() == {"x"}
    c = GCounter()
    c.increment("r1", 3)
    assert c.value() == 0


def test_gcounter_and_pncounter() -> None:
    a, b = GCounter(), GCounter()
    a.apply(a.increment("a", 3))
    b.apply(b.increment("b", 4))
    assert a.join(b).value() == 7 and a.value() == 3
    with pytest.raises(ValueError):
        a.increment("a", -1)
    p = PNCounter()
    p.apply(p.increment("a", 5))
    p.apply(p.decrement("b", 2))
    p.apply(p.increment("a", -1))
    assert p.value() == 2


def test_lww_hlc_survives_clock_skew() -> None:
    fast, slow = HLC(clock=lambda: 10_000), HLC(clock=lambda: 5)
    r = LWWRegister()
    r.apply(r.assign("fast", "first", hlc=fast))
    # The slow replica saw the fast write; its later write must win despite its clock.
    r.apply(r.assign("slow", "second", hlc=slow))
    assert r.value() == "second"
    assert r.timestamp is not None and r.timestamp.wall == 10_000


def test_lww_ties_broken_by_replica() -> None:
    a = LWWRegister().assign("a", 1, timestamp=(5, 0, "a"))
    b = LWWRegister().assign("b", 2, timestamp=(5, 0, "b"))
    assert a.join(b).value() == 2 and b.join(a).value() == 2


def test_mvregister_keeps_concurrent_values() -> None:
    a, b = MVRegister(), MVRegister()
    da, db = a.assign("a", 1), b.assign("b", [2, 3])
    a.apply(da).apply(db)
    assert a.value() == frozenset({1, (2, 3)})
    a.apply(a.assign("a", "x"))
    assert a.value() == frozenset({"x"})


def test_ewflag_enable_wins() -> None:
    base = EWFlag()
    base.apply(base.enable("a"))
    x, y = base.copy(), base.copy()
    dx, dy = x.disable("x"), y.enable("y")
    x.apply(dx).apply(dy)
    y.apply(dy).apply(dx)
    assert x == y and x.value() is True


def test_awset_add_wins_and_observed_remove() -> None:
    base = AWSet()
    base.apply(base.add("a", "e"))
    x, y = base.copy(), base.copy()
    rm, add = x.remove("x", "e"), y.add("y", "e")
    x.apply(rm).apply(add)
    y.apply(add).apply(rm)
    assert x == y and x.value() == {"e"}
    # A remove of what was seen, with nothing concurrent, removes.
    x.apply(x.remove("x", "e"))
    assert x.value() == set()


def test_ormap_remove_vs_concurrent_update_lww() -> None:
    base = ORMap(LWWRegister)
    base.apply(base.update("a", "k", lambda v: v.assign("a", 1)))
    x, y = base.copy(), base.copy()
    rm = x.remove("x", "k")
    up = y.update("y", "k", lambda v: v.assign("y", 2))
    x.apply(rm).apply(up)
    y.apply(up).apply(rm)
    assert x == y and x.value() == {"k": 2}


def test_ormap_gcounter_value_reset_after_remove() -> None:
    m = ORMap(GCounter)
    m.apply(m.update("a", "k", lambda v: v.increment("a", 5)))
    m.apply(m.remove("a", "k"))
    assert "k" not in m and m.get("k") is None
    m.apply(m.update("a", "k", lambda v: v.increment("a", 1)))
    assert m.value() == {"k": 1}


def test_ormap_concurrent_counter_updates_add_up() -> None:
    base = ORMap(GCounter)
    base.apply(base.update("a", "k", lambda v: v.increment("a", 5)))
    x, y = base.copy(), base.copy()
    dx = x.update("x", "k", lambda v: v.increment("x", 1))
    dy = y.update("y", "k", lambda v: v.increment("y", 2))
    x.apply(dx).apply(dy)
    y.apply(dy).apply(dx)
    assert x == y and x.value() == {"k": 8} and x.get("k") == y.get("k")


def test_nested_map_remove_is_observed_remove() -> None:
    m = ORMap(lambda: ORMap(AWSet))
    m.apply(m.update("a", "net", lambda v: v.update("a", "ports", lambda s: s.add("a", 1))))
    x, y = m.copy(), m.copy()
    rm = x.remove("x", "net")
    up = y.update("y", "net", lambda v: v.update("y", "ports", lambda s: s.add("y", 2)))
    x.apply(rm).apply(up)
    y.apply(up).apply(rm)
    # The element the remover saw (1) is gone; the concurrent add (2) survives.
    assert x == y and x.value() == {"net": {"ports": {2}}}


def test_update_cannot_remove_other_keys() -> None:
    m = ORMap(AWSet)
    m.apply(m.update("a", "k1", lambda s: s.add("a", 1)))
    m.apply(m.update("a", "k2", lambda s: s.add("a", 2)))
    d = m.update("a", "k1", lambda s: s)  # returns the whole view, context and all
    m.apply(d)
    assert m.value() == {"k1": {1}, "k2": {2}}


def test_ormap_extras_and_affected_keys() -> None:
    m = ORMap(LWWRegister)
    for k in ("a", "b", "c"):
        m.apply(m.update("r", k, lambda v, k=k: v.assign("r", k)))  # type: ignore[misc]
    assert len(m) == 3 and "a" in m and m.keys() == {"a", "b", "c"}
    assert m.get("zz") is None and m.get("a") is not None
    other = m.copy()
    d = other.remove("o", "b").join(other.update("o", "d", lambda v: v.assign("o", 1)))
    assert m.affected_keys(d) == {"b", "d"}


def test_delta_shared_between_replicas_does_not_leak() -> None:
    d = ORMap(GCounter).update("a", "k", lambda v: v.increment("a", 1))
    x, y = ORMap(GCounter), ORMap(GCounter)
    x.apply(d)
    y.apply(d)
    x.apply(x.update("x", "k", lambda v: v.increment("x", 10)))
    x.apply(x.update("x", "j", lambda v: v.increment("x", 10)))
    assert y.value() == {"k": 1} and d.value() == {"k": 1}


def test_join_leaves_both_unchanged() -> None:
    a, b = AWSet(), AWSet()
    a.apply(a.add("a", 1))
    b.apply(b.add("b", 2))
    j = a.join(b)
    assert j.value() == {1, 2} and a.value() == {1} and b.value() == {2}


def test_type_checks() -> None:
    for bad in (1, b"r", "", None):
        with pytest.raises((TypeError, ValueError)):
            AWSet().add(bad, "x")  # type: ignore[arg-type]
        with pytest.raises((TypeError, ValueError)):
            GCounter().increment(bad, 1)  # type: ignore[arg-type]
        with pytest.raises((TypeError, ValueError)):
            LWWRegister().assign(bad, 1)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        AWSet().add("r", 1.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        LWWRegister().assign("r", {1, 2})
    with pytest.raises(TypeError):
        ORMap(LWWRegister).join(ORMap(GCounter))
    with pytest.raises(TypeError):
        ORMap(ORMap)


def test_maps_of_different_value_types_differ() -> None:
    assert ORMap(LWWRegister) != ORMap(GCounter)
    assert ORMap(LWWRegister) == ORMap(LWWRegister)
    assert ORMap(lambda: ORMap(LWWRegister)) == ORMap(ORMap(LWWRegister))
    assert crdt.encode(ORMap(LWWRegister)) != crdt.encode(ORMap(GCounter))


def test_codec_roundtrip_each_type() -> None:
    g = GCounter()
    g.apply(g.increment("a", 2))
    m = ORMap(lambda: ORMap(GCounter))
    m.apply(m.update("a", ("t", 1, b"x"), lambda v: v.update("a", 1, lambda c: c.increment("a"))))
    mv = MVRegister()
    mv.apply(mv.assign("a", {"b": [1, 2.5, None, b"z"], "a": True}))
    for x in (g, PNCounter(), LWWRegister(), EWFlag(), AWSet(), m, mv, ORMap(MVRegister)):
        y = crdt.decode(crdt.encode(x))
        assert type(y) is type(x) and y == x and crdt.encode(y) == crdt.encode(x)
    assert m.value() == {("t", 1, b"x"): {1: 1}}


def test_decode_rejects_garbage() -> None:
    for bad in (b"", b"\xc1", b"\x90", crdt.encode(GCounter())[:-1], b"\x95" + b"\x00" * 4):
        with pytest.raises(DecodeError):
            crdt.decode(bad)
    with pytest.raises(DecodeError):
        crdt.decode("text")  # type: ignore[arg-type]


def _assign(replica: str, value: object) -> Callable[[LWWRegister], LWWRegister]:
    return lambda r: r.assign(replica, value)


def test_several_changes_in_one_update() -> None:
    """The pattern of a topology table: apply each field's delta to the view, return the join."""
    t = ORMap(lambda: ORMap(LWWRegister))
    t.apply(t.update("a", "obj", lambda o: o.update("a", "keep", lambda r: r.assign("a", 0))))

    def change(obj: ORMap) -> ORMap:
        acc = None
        for name, value in (("x", 1), ("y", 2), ("z", 3)):
            d = obj.update("a", name, _assign("a", value))
            obj.apply(d)
            acc = d if acc is None else acc.join(d)
        assert acc is not None
        return acc

    d = t.update("a", "obj", change)
    other = ORMap(lambda: ORMap(LWWRegister))
    other.apply(d)
    t.apply(d)
    assert t.value() == {"obj": {"keep": 0, "x": 1, "y": 2, "z": 3}}
    assert other.value() == {"obj": {"x": 1, "y": 2, "z": 3}}
    assert len({dot for dot in d.context.dots()}) == 3  # three fresh dots, nothing else
