"""Codec: round trips, determinism, and a decoder that refuses bad input with DecodeError only."""

from __future__ import annotations

import random
import struct
from typing import Any

import msgpack
import pytest
from hypothesis import given
from hypothesis import strategies as st

import crdt
from crdt import (
    AWSet,
    DecodeError,
    GCounter,
    LWWRegister,
    MVRegister,
    ORMap,
)
from crdt.codec import MAGIC, VERSION
from tests.crdt.cases import CASES, STEPS
from tests.crdt.harness import Sim

CASE_NAMES = sorted(CASES)


def history_states(name: str, steps: Any) -> list[Any]:
    new, op_fn = CASES[name]
    sim = Sim(new, op_fn)
    sim.run(steps)
    return [s for s, _ in sim.snapshots] + [o.delta for o in sim.ops]


def try_decode(data: bytes) -> Any:
    """Decode; anything but DecodeError fails the test. A success must re-encode stably."""
    try:
        x = crdt.decode(data)
    except DecodeError:
        return None
    again = crdt.decode(crdt.encode(x))
    assert again == x and crdt.encode(again) == crdt.encode(x)
    return x


@given(name=st.sampled_from(CASE_NAMES), steps=STEPS)
def test_roundtrip_history_states(name: str, steps: Any) -> None:
    for x in history_states(name, steps):
        b = crdt.encode(x)
        y = crdt.decode(b)
        assert type(y) is type(x) and y == x and y.value() == x.value()
        assert crdt.encode(y) == b


@given(data=st.binary(max_size=300))
def test_random_bytes_raise_decode_error_only(data: bytes) -> None:
    try_decode(data)


@given(name=st.sampled_from(CASE_NAMES), steps=STEPS, data=st.data())
def test_truncated_and_mutated_encodings(name: str, steps: Any, data: Any) -> None:
    states = history_states(name, steps)
    b = crdt.encode(states[-1])
    for cut in range(len(b)):
        with pytest.raises(DecodeError):
            crdt.decode(b[:cut])
    with pytest.raises(DecodeError):
        crdt.decode(b + b"\x00")  # trailing data
    rng = random.Random(data.draw(st.integers(0, 2**32)))
    for _ in range(20):
        m = bytearray(b)
        for _ in range(rng.randint(1, 3)):
            op = rng.randrange(3)
            pos = rng.randrange(len(m))
            if op == 0:
                m[pos] = rng.randrange(256)
            elif op == 1:
                m.insert(pos, rng.randrange(256))
            elif len(m) > 1:
                del m[pos]
        try_decode(bytes(m))


MSGPACK_ANY = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**64 - 1)
    | st.floats()
    | st.text(max_size=5)
    | st.binary(max_size=5),
    lambda kids: (
        st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=3), kids, max_size=3)
    ),
    max_leaves=12,
)


def _nodes(x: Any, path: tuple[int, ...] = ()) -> list[tuple[int, ...]]:
    out = [path]
    if type(x) is list:
        for i, y in enumerate(x):
            out += _nodes(y, (*path, i))
    return out


def _replace(x: Any, path: tuple[int, ...], new: Any) -> Any:
    if not path:
        return new
    y = list(x)
    y[path[0]] = _replace(x[path[0]], path[1:], new)
    return y


@given(name=st.sampled_from(CASE_NAMES), steps=STEPS, data=st.data())
def test_structurally_mutated_encodings(name: str, steps: Any, data: Any) -> None:
    """Replace one node of a valid encoding's msgpack tree by arbitrary msgpack data."""
    states = history_states(name, steps)
    raw = msgpack.unpackb(crdt.encode(states[-1]), raw=False)
    nodes = _nodes(raw)
    for _ in range(5):
        path = data.draw(st.sampled_from(nodes))
        new = data.draw(MSGPACK_ANY)
        try_decode(msgpack.packb(_replace(raw, path, new), use_bin_type=True))


def _frame(desc: Any, table: list[Any], body: Any) -> bytes:
    out: bytes = msgpack.packb([MAGIC, VERSION, desc, table, body], use_bin_type=True)
    return out


def _nest(depth: int, leaf: Any) -> Any:
    for _ in range(depth):
        leaf = [leaf]
    return leaf


LWW_MAP = ["ormap", "lww"]
CTX_A1 = [[0, 1], []]  # version vector {a: 1}, empty cloud
GOOD_ENTRY = ["k", [0, 1, [5, 0, 0, "v"]]]


@pytest.mark.parametrize(
    ("why", "data"),
    [
        ("baseline is valid", None),
        ("wrong magic", msgpack.packb(["nope", VERSION, "gcounter", [], []])),
        ("future version", msgpack.packb([MAGIC, VERSION + 1, "gcounter", [], []])),
        ("unknown type", _frame("hyperloglog", [], [])),
        ("descriptor malformed", _frame(["ormap"], [], [])),
        ("descriptor not data", _frame({"ormap": "lww"}, [], [])),
        ("replica table not str", _frame("gcounter", [1], [0, 1])),
        ("duplicate replica", _frame("gcounter", ["a", "a"], [0, 1, 1, 2])),
        ("replica index out of range", _frame("gcounter", ["a"], [1, 1])),
        ("negative count", _frame("gcounter", ["a"], [0, -1])),
        ("zero count", _frame("gcounter", ["a"], [0, 0])),
        ("odd counter list", _frame("gcounter", ["a"], [0])),
        ("bool as int", _frame("gcounter", ["a"], [0, True])),
        ("store dot outside context", _frame(LWW_MAP, ["a"], [[[], []], GOOD_ENTRY])),
        ("empty map entry", _frame(LWW_MAP, ["a"], [CTX_A1, ["k", []]])),
        ("duplicate key", _frame(LWW_MAP, ["a"], [CTX_A1, GOOD_ENTRY + GOOD_ENTRY])),
        ("float key", _frame(LWW_MAP, ["a"], [CTX_A1, [1.5, [0, 1, [5, 0, 0, "v"]]]])),
        (
            "same dot under two keys",
            _frame(LWW_MAP, ["a"], [CTX_A1, [*GOOD_ENTRY, "j", [0, 1, [5, 0, 0, "v"]]]]),
        ),
        ("bytes dict key in value", _frame("lww", ["a"], [5, 0, 0, {b"k": 1}])),
        ("register too short", _frame("lww", ["a"], [5, 0, 0])),
        ("negative wall", _frame("lww", ["a"], [-5, 0, 0, 1])),
        ("ext type", _frame("lww", ["a"], [5, 0, 0, msgpack.ExtType(1, b"x")])),
        ("awset dot zero", _frame("awset", ["a"], [CTX_A1, ["e", [0, 0]]])),
        ("odd dot list", _frame("awset", ["a"], [CTX_A1, ["e", [0]]])),
        ("version vector not array", _frame("awset", ["a"], [[{}, []], []])),
        ("top level not array", msgpack.packb({"a": 1})),
        ("huge array header", b"\x95\xa7vnmcrdt\x01\xa8gcounter\x90\xdd\xff\xff\xff\xff"),
        ("deep msgpack nesting", b"\x91" * 100_000),
        ("deep value nesting", _frame("lww", ["a"], [5, 0, 0, _nest(40, 1)])),
        ("deep key nesting", _frame("awset", ["a"], [CTX_A1, [_nest(12, "e"), [0, 1]]])),
        ("empty input", b""),
        ("not bytes", "text"),
    ],
)
def test_malformed_inputs(why: str, data: Any) -> None:
    if data is None:  # the shapes above are valid apart from the named defect
        x = crdt.decode(_frame(LWW_MAP, ["a"], [CTX_A1, GOOD_ENTRY]))
        assert x.value() == {"k": "v"}
        return
    with pytest.raises(DecodeError):
        crdt.decode(data)


def test_descriptor_nesting_limit() -> None:
    desc: Any = "lww"
    for _ in range(16):
        desc = ["ormap", desc]
    ok = _frame(desc, [], [[[], []], []])
    assert isinstance(crdt.decode(ok), ORMap)
    with pytest.raises(DecodeError):
        crdt.decode(_frame(["ormap", desc], [], [[[], []], []]))


def test_size_limit() -> None:
    g = GCounter()
    g.apply(g.increment("a", 1))
    b = crdt.encode(g)
    with pytest.raises(DecodeError):
        crdt.decode(b, max_size=len(b) - 1)
    assert crdt.decode(b, max_size=len(b)) == g


def test_equal_states_equal_bytes_regardless_of_insertion_order() -> None:
    r1 = LWWRegister().assign("a", {"x": 1, "y": [1, {"q": 2, "p": 3}]}, timestamp=(1, 0, "a"))
    r2 = LWWRegister().assign("a", {"y": [1, {"p": 3, "q": 2}], "x": 1}, timestamp=(1, 0, "a"))
    assert r1 == r2 and crdt.encode(r1) == crdt.encode(r2)
    ka, kb = ORMap(LWWRegister), ORMap(LWWRegister)
    da = [ka.update("a", k, lambda v: v.assign("a", 1, timestamp=(1, 0, "a"))) for k in "xyz"]
    db = [kb.update("b", k, lambda v: v.assign("b", 2, timestamp=(2, 0, "b"))) for k in (3, b"q")]
    for d in da + db:
        ka.apply(d)
    for d in reversed(db + da):
        kb.apply(d)
    assert ka == kb and crdt.encode(ka) == crdt.encode(kb)


def test_nan_and_negative_zero_are_canonical() -> None:
    weird_nan = struct.unpack(">d", bytes.fromhex("7ff8000000000001"))[0]
    a = LWWRegister().assign("a", [weird_nan, -0.0], timestamp=(1, 0, "a"))
    b = LWWRegister().assign("a", [float("nan"), 0.0], timestamp=(1, 0, "a"))
    assert a == b and crdt.encode(a) == crdt.encode(b)
    raw = _frame("lww", ["a"], [1, 0, 0, [weird_nan, -0.0]])
    assert crdt.encode(crdt.decode(raw)) == crdt.encode(a)


def test_distinct_states_distinct_bytes() -> None:
    a = LWWRegister().assign("a", 1, timestamp=(1, 0, "a"))
    b = LWWRegister().assign("a", True, timestamp=(1, 0, "a"))
    c = LWWRegister().assign("a", 1.0, timestamp=(1, 0, "a"))
    assert a != b and a != c and len({crdt.encode(x) for x in (a, b, c)}) == 3
    s, t = AWSet(), AWSet()
    s.apply(s.add("a", 1))
    t.apply(t.add("a", "1"))
    assert crdt.encode(s) != crdt.encode(t)


def test_mvregister_values_survive_codec() -> None:
    m = MVRegister()
    m.apply(m.assign("a", {"k": [1, 2]}))
    m.apply(MVRegister().assign("b", b"raw"))
    y = crdt.decode(crdt.encode(m))
    assert y == m and y.value() == frozenset({(("k", (1, 2)),), b"raw"})
    assert y.values() == m.values()
