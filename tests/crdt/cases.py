"""The types under property test: how to build each, its random operations, and the value
the harness's causal model predicts for it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hypothesis import strategies as st

from crdt import (
    HLC,
    AWSet,
    EWFlag,
    GCounter,
    LWWRegister,
    MVRegister,
    ORMap,
    PNCounter,
)
from crdt.values import canon_value, freeze
from tests.crdt.harness import OpFn, OpResult, Sim

ELEMS: list[Any] = ["a", "b", 3, b"\x00", ("t", 1)]
KEYS: list[Any] = ["k1", "k2", 7]
VALUES: list[Any] = [None, 1, True, 2.5, "x", b"y", [1, "z"], {"b": 1, "a": [None]}, -3]


def _pick(xs: list[Any], a: int) -> Any:
    return xs[a % len(xs)]


def op_gcounter(s: GCounter, r: str, c: int, a: int, h: HLC) -> OpResult:
    want = s.value() + a % 4
    return OpResult(s.increment(r, a % 4), (), payload=a % 4, check=lambda x: x.value() == want)


def op_pncounter(s: PNCounter, r: str, c: int, a: int, h: HLC) -> OpResult:
    n = a % 7 - 3
    want = s.value() + n
    return OpResult(s.increment(r, n), (), payload=n, check=lambda x: x.value() == want)


def op_lww(s: LWWRegister, r: str, c: int, a: int, h: HLC) -> OpResult:
    want = canon_value(_pick(VALUES, a))
    return OpResult(s.assign(r, want, hlc=h), (), check=lambda x: x.value() == want)


def op_mv(s: MVRegister, r: str, c: int, a: int, h: HLC) -> OpResult:
    v = _pick(VALUES, a)
    return OpResult(
        s.assign(r, v), (), payload=v, check=lambda x: x.value() == {freeze(canon_value(v))}
    )


def op_ewflag(s: EWFlag, r: str, c: int, a: int, h: HLC) -> OpResult:
    if c % 2:
        return OpResult(s.disable(r), (), remove=True, check=lambda x: x.value() is False)
    return OpResult(s.enable(r), (), check=lambda x: x.value() is True)


def op_awset(s: AWSet, r: str, c: int, a: int, h: HLC) -> OpResult:
    e = _pick(ELEMS, a)
    if c % 2:
        return OpResult(s.remove(r, e), (e,), remove=True, check=lambda x: e not in x.value())
    return OpResult(s.add(r, e), (e,), check=lambda x: e in x.value())


def op_map_lww(m: ORMap, r: str, c: int, a: int, h: HLC) -> OpResult:
    k = _pick(KEYS, a)
    if c % 3 == 2:
        return OpResult(m.remove(r, k), (k,), remove=True, check=lambda x: k not in x)
    v = canon_value(_pick(VALUES, c))
    return OpResult(
        m.update(r, k, lambda x: x.assign(r, v, hlc=h)), (k,), check=lambda x: x.value()[k] == v
    )


def op_map_gcounter(m: ORMap, r: str, c: int, a: int, h: HLC) -> OpResult:
    k = _pick(KEYS, a)
    if c % 3 == 2:
        return OpResult(m.remove(r, k), (k,), remove=True, check=lambda x: k not in x)
    want = m.value().get(k, 0) + c % 3 + 1
    return OpResult(
        m.update(r, k, lambda x: x.increment(r, c % 3 + 1)),
        (k,),
        check=lambda x: x.value()[k] == want,
    )


def op_map_pncounter(m: ORMap, r: str, c: int, a: int, h: HLC) -> OpResult:
    k = _pick(KEYS, a)
    if c % 3 == 2:
        return OpResult(m.remove(r, k), (k,), remove=True)
    return OpResult(m.update(r, k, lambda x: x.increment(r, c % 5 - 2)), (k,))


def op_map_awset(m: ORMap, r: str, c: int, a: int, h: HLC) -> OpResult:
    k, e = _pick(KEYS, a), _pick(ELEMS, c // 3)
    if c % 3 == 2:
        return OpResult(m.remove(r, k), (k,), remove=True)
    if c % 3 == 1:
        return OpResult(m.update(r, k, lambda s: s.remove(r, e)), (k, e), remove=True)
    return OpResult(m.update(r, k, lambda s: s.add(r, e)), (k, e))


def op_map_mv(m: ORMap, r: str, c: int, a: int, h: HLC) -> OpResult:
    k = _pick(KEYS, a)
    if c % 3 == 2:
        return OpResult(m.remove(r, k), (k,), remove=True)
    v = _pick(VALUES, c)
    return OpResult(m.update(r, k, lambda x: x.assign(r, v)), (k,), payload=v)


def op_map_ewflag(m: ORMap, r: str, c: int, a: int, h: HLC) -> OpResult:
    k = _pick(KEYS, a)
    if c % 3 == 2:
        return OpResult(m.remove(r, k), (k,), remove=True)
    if c % 3 == 1:
        return OpResult(m.update(r, k, lambda f: f.disable(r)), (k,), remove=True)
    return OpResult(m.update(r, k, lambda f: f.enable(r)), (k,))


def op_nested_lww(m: ORMap, r: str, c: int, a: int, h: HLC) -> OpResult:
    k1, k2 = _pick(KEYS, a), _pick(KEYS, c // 4)
    if c % 4 == 3:
        return OpResult(m.remove(r, k1), (k1,), remove=True)
    if c % 4 == 2:
        return OpResult(m.update(r, k1, lambda n: n.remove(r, k2)), (k1, k2), remove=True)
    v = _pick(VALUES, c)
    fn: Callable[[ORMap], ORMap] = lambda n: n.update(r, k2, lambda x: x.assign(r, v, hlc=h))  # noqa: E731
    return OpResult(m.update(r, k1, fn), (k1, k2))


def op_nested_gcounter(m: ORMap, r: str, c: int, a: int, h: HLC) -> OpResult:
    k1, k2 = _pick(KEYS, a), _pick(KEYS, c // 4)
    if c % 4 == 3:
        return OpResult(m.remove(r, k1), (k1,), remove=True)
    if c % 4 == 2:
        return OpResult(m.update(r, k1, lambda n: n.remove(r, k2)), (k1, k2), remove=True)
    fn: Callable[[ORMap], ORMap] = lambda n: n.update(r, k2, lambda x: x.increment(r, 1))  # noqa: E731
    return OpResult(m.update(r, k1, fn), (k1, k2))


def op_deep_awset(m: ORMap, r: str, c: int, a: int, h: HLC) -> OpResult:
    k1, k2, e = _pick(KEYS, a), _pick(KEYS, c // 5), _pick(ELEMS, c // 7)
    kind = c % 5
    if kind == 4:
        return OpResult(m.remove(r, k1), (k1,), remove=True)
    if kind == 3:
        return OpResult(m.update(r, k1, lambda n: n.remove(r, k2)), (k1, k2), remove=True)
    if kind == 2:
        fn: Callable[[ORMap], ORMap] = lambda n: n.update(r, k2, lambda s: s.remove(r, e))  # noqa: E731
        return OpResult(m.update(r, k1, fn), (k1, k2, e), remove=True)
    fn = lambda n: n.update(r, k2, lambda s: s.add(r, e))  # noqa: E731
    return OpResult(m.update(r, k1, fn), (k1, k2, e))


CASES: dict[str, tuple[Callable[[], Any], OpFn]] = {
    "gcounter": (GCounter, op_gcounter),
    "pncounter": (PNCounter, op_pncounter),
    "lww": (LWWRegister, op_lww),
    "mvregister": (MVRegister, op_mv),
    "ewflag": (EWFlag, op_ewflag),
    "awset": (AWSet, op_awset),
    "map_lww": (lambda: ORMap(LWWRegister), op_map_lww),
    "map_gcounter": (lambda: ORMap(GCounter), op_map_gcounter),
    "map_pncounter": (lambda: ORMap(PNCounter), op_map_pncounter),
    "map_awset": (lambda: ORMap(AWSet), op_map_awset),
    "map_mv": (lambda: ORMap(MVRegister), op_map_mv),
    "map_ewflag": (lambda: ORMap(EWFlag), op_map_ewflag),
    "nested_lww": (lambda: ORMap(lambda: ORMap(LWWRegister)), op_nested_lww),
    "nested_gcounter": (lambda: ORMap(lambda: ORMap(GCounter)), op_nested_gcounter),
    "deep_awset": (lambda: ORMap(lambda: ORMap(AWSet)), op_deep_awset),
}

STEP = st.tuples(
    st.integers(0, 6), st.integers(0, 2), st.integers(0, 60), st.integers(0, 60), st.integers(0, 60)
)
STEPS = st.lists(STEP, min_size=1, max_size=30)


def _lww_winner(regs: list[LWWRegister]) -> Any:
    best = regs[0]
    for x in regs[1:]:
        best = best.join(x)
    return best.value()


def expected_value(name: str, sim: Sim) -> Any:
    """The value the causal model predicts for a case."""
    ops = sim.ops
    if name in ("gcounter", "pncounter"):
        return sum(o.payload for o in ops)
    if name == "lww":
        return _lww_winner([o.delta for o in ops]) if ops else None
    live = sim.model_paths()
    if name == "mvregister":
        return frozenset(freeze(canon_value(o.payload)) for o in live.get((), []))
    if name == "ewflag":
        return () in live
    if name == "awset":
        return {p[0] for p in live}
    if name in ("map_lww", "map_gcounter", "map_pncounter"):
        out = {}
        for (k,), front in live.items():
            regs = [o.delta.get(k) for o in front]
            v = regs[0]
            for x in regs[1:]:
                v = v.join(x)
            out[k] = v.value()
        return out
    if name == "map_mv":
        return {p[0]: frozenset(freeze(canon_value(o.payload)) for o in f) for p, f in live.items()}
    if name == "map_ewflag":
        return {p[0]: True for p in live}
    if name == "map_awset":
        out2: dict[Any, set[Any]] = {}
        for k, e in live:
            out2.setdefault(k, set()).add(e)
        return out2
    if name == "nested_lww":
        out3: dict[Any, dict[Any, Any]] = {}
        for (k1, k2), front in live.items():
            out3.setdefault(k1, {})[k2] = _lww_winner([o.delta.get(k1).get(k2) for o in front])
        return out3
    if name == "nested_gcounter":
        out5: dict[Any, dict[Any, Any]] = {}
        for (k1, k2), front in live.items():
            states = [o.delta.get(k1).get(k2) for o in front]
            v = states[0]
            for x in states[1:]:
                v = v.join(x)
            out5.setdefault(k1, {})[k2] = v.value()
        return out5
    if name == "deep_awset":
        out4: dict[Any, dict[Any, set[Any]]] = {}
        for k1, k2, e in live:
            out4.setdefault(k1, {}).setdefault(k2, set()).add(e)
        return out4
    raise AssertionError(f"no model for {name}")
