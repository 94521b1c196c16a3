"""The inbound stream gate (pending/serving slots, per-source limit) and the first-frame
seal check, as pure functions."""

from __future__ import annotations

import os

from hypothesis import given, settings
from hypothesis import strategies as st

from mesh.codec import encode_envelope
from mesh.keyring import Keyring
from mesh.transport.preauth import opens
from mesh.transport.stream_gate import REFUSALS, GateLimits, StreamGate


def test_one_source_cannot_take_every_slot() -> None:
    gate = StreamGate(GateLimits(max_serving=4, max_pending=16, max_per_source=3))
    assert [gate.admit("10.0.0.9") for _ in range(5)] == [
        None,
        None,
        None,
        "stream_refused_source",
        "stream_refused_source",
    ]
    assert gate.admit("10.0.0.1") is None
    assert gate.pending == 4


def test_pending_and_serving_are_separate_pools() -> None:
    gate = StreamGate(GateLimits(max_serving=1, max_pending=2, max_per_source=8))
    assert gate.admit("a") is None and gate.admit("b") is None
    assert gate.admit("c") == "stream_refused_pending"
    assert gate.promote() is None
    assert gate.admit("c") is None  # promotion freed a pending slot
    assert gate.promote() == "stream_rejected"
    gate.release("a", serving=True)
    assert gate.promote() is None
    gate.release("b", serving=True)
    gate.release("c", serving=False)
    assert (gate.pending, gate.serving, gate.by_source) == (0, 0, {})


def test_every_refusal_is_declared() -> None:
    gate = StreamGate(GateLimits(max_serving=0, max_pending=1, max_per_source=1))
    reasons = {gate.admit("x"), gate.admit("x"), gate.admit("y"), gate.promote()}
    assert reasons - {None} <= set(REFUSALS)
    assert {"stream_frame_timeout", "stream_unauthenticated"} <= set(REFUSALS)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["admit", "promote", "release"]), st.integers(0, 3))))
def test_limits_hold_and_releases_return_every_slot(ops: list[tuple[str, int]]) -> None:
    limits = GateLimits(max_serving=2, max_pending=3, max_per_source=2)
    gate = StreamGate(limits)
    held: list[tuple[str, bool]] = []  # (source, serving) of each admitted stream
    for op, n in ops:
        source = f"h{n}"
        if op == "admit":
            if gate.admit(source) is None:
                held.append((source, False))
        elif op == "promote":
            waiting = [i for i, (_, s) in enumerate(held) if not s]
            if waiting and gate.promote() is None:
                held[waiting[0]] = (held[waiting[0]][0], True)
        elif held:
            src, serving = held.pop(n % len(held))
            gate.release(src, serving)
        assert gate.pending <= limits.max_pending and gate.serving <= limits.max_serving
        assert all(c <= limits.max_per_source for c in gate.by_source.values())
        assert gate.pending + gate.serving == len(held) == sum(gate.by_source.values())
    for src, serving in held:
        gate.release(src, serving)
    assert (gate.pending, gate.serving, gate.by_source) == (0, 0, {})


def test_first_frame_must_open_with_our_key() -> None:
    ours, theirs = Keyring(os.urandom(32)), Keyring(os.urandom(32))
    sealed = encode_envelope("a", 1.0, [], ours)
    assert opens(sealed, ours)
    assert not opens(encode_envelope("a", 1.0, [], theirs), ours)
    assert not opens(encode_envelope("a", 1.0, [], None), ours)  # plaintext
    assert not opens(b"", ours) and not opens(b"\x01", ours)
    assert opens(b"anything at all", None)  # no key: nothing to check before parsing


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_garbage_never_opens(data: bytes) -> None:
    assert not opens(data, Keyring(os.urandom(16)))
