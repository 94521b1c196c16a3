"""The state message: round trips, bounds, and a decoder that only ever raises
StateDecodeError (random, truncated and mutated bytes)."""

from __future__ import annotations

import struct
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.session.entries import ConnEntry, NatEntry, SessionEntry, SessionPorts
from services.session.keys import ConnKey, FlowTuple
from services.session.nat import NatBinding, NatKind
from services.session.wire import (
    CONN_SIZE,
    HEADER_SIZE,
    MAX_CONN,
    MAX_EGRESS,
    MAX_SIZE,
    NAT_SIZE,
    StateDecodeError,
    StateMessage,
    decode,
    decode_entry,
    encode,
    encode_entry,
    key_bytes,
    messages_for,
)
from tests.session.strategies import entries, messages

P = str(uuid.UUID(int=1))
D = str(uuid.UUID(int=2))


def one_conn_message() -> StateMessage:
    return StateMessage(SessionPorts(P, (D,)), (ConnKey(D, FlowTuple(6, 1, 2, 3, 4)),))


@given(messages)
def test_round_trip(m: StateMessage) -> None:
    data = encode(m)
    assert len(data) <= MAX_SIZE
    assert decode(data) == m


@given(entries)
def test_entry_round_trip(e: SessionEntry) -> None:
    assert decode_entry(encode_entry(e)) == e


@given(entries, entries)
def test_key_bytes_distinguish_keys(a: SessionEntry, b: SessionEntry) -> None:
    assert (key_bytes(a.key) == key_bytes(b.key)) == (a.key == b.key)


def test_sizes_are_documented_ones() -> None:
    """docs/sessions.md: header 23 B, conntrack 29 B, NAT 42 B, at most 951 B."""
    assert (HEADER_SIZE, CONN_SIZE, NAT_SIZE) == (23, 29, 42)
    assert MAX_SIZE == 23 + 16 * 8 + 29 * 16 + 42 * 8 == 951
    assert len(encode(one_conn_message())) == 23 + 16 + 29


def test_bounds_are_enforced_when_building() -> None:
    with pytest.raises(ValueError):
        StateMessage(SessionPorts(P, (D,) * (MAX_EGRESS + 1)))
    with pytest.raises(ValueError):
        StateMessage(SessionPorts(P), (ConnKey(D, FlowTuple(6, 1, 2, 3, 4)),) * (MAX_CONN + 1))


@given(st.lists(entries, max_size=40), st.lists(st.uuids().map(str), max_size=20))
def test_messages_for_splits_into_bounded_messages(
    es: list[SessionEntry], egress: list[str]
) -> None:
    ports = SessionPorts(P, tuple(egress))
    msgs = messages_for(ports, es)
    assert msgs
    got = [e for m in msgs for e in m.entries()]
    # every entry reaches every egress port group, with the message's ports
    groups = max(1, -(-len(egress) // MAX_EGRESS))
    assert len(got) == len(es) * groups
    for m in msgs:
        decode(encode(m))  # each one encodes within the bounds
    covered = {p for m in msgs for p in m.ports.egress}
    assert covered == set(egress)
    assert all(m.ports.ingress == P for m in msgs)


def test_named_rejections() -> None:
    good = encode(one_conn_message())
    cases = {
        "truncated": good[:10],
        "magic": b"XX" + good[2:],
        "version": good[:2] + b"\x02" + good[3:],
        "flags": good[:3] + b"\x01" + good[4:],
        "length": good + b"\x00",
        "too_large": good + b"\x00" * MAX_SIZE,
        "count": good[:21] + bytes([MAX_CONN + 1]) + good[22:],
    }
    for reason, data in cases.items():
        with pytest.raises(StateDecodeError) as exc:
            decode(data)
        assert exc.value.reason == reason, reason
    bad_proto = bytearray(good)
    bad_proto[HEADER_SIZE + 16 + 16] = 47
    with pytest.raises(StateDecodeError, match="proto"):
        decode(bytes(bad_proto))
    nat = encode(
        StateMessage(
            SessionPorts(P),
            nats=(
                (D, NatKind.SNAT, NatBinding(FlowTuple(17, 1, 2, 3, 4), FlowTuple(17, 5, 6, 3, 4))),
            ),
        )
    )
    bad_kind = bytearray(nat)
    bad_kind[HEADER_SIZE + 16] = 9
    with pytest.raises(StateDecodeError) as exc:
        decode(bytes(bad_kind))
    assert exc.value.reason == "nat_kind"
    with pytest.raises(StateDecodeError):
        decode("not bytes")  # type: ignore[arg-type]


def test_decode_entry_wants_exactly_one() -> None:
    empty = encode(StateMessage(SessionPorts(P)))
    with pytest.raises(StateDecodeError):
        decode_entry(empty)


def _decodes_or_rejects(data: bytes) -> None:
    try:
        m = decode(data)
    except StateDecodeError:
        return
    assert encode(m) == data  # whatever decodes is canonical


@given(st.binary(max_size=MAX_SIZE + 64))
def test_fuzz_random_bytes(data: bytes) -> None:
    _decodes_or_rejects(data)


@given(st.integers(0, 9), st.integers(0, 17), st.integers(0, 9), st.binary(max_size=MAX_SIZE))
def test_fuzz_random_body_behind_a_valid_header(e: int, c: int, n: int, tail: bytes) -> None:
    head = struct.pack("!2sBB16sBBB", b"VS", 1, 0, bytes(16), e, c, n)
    _decodes_or_rejects(head + tail)


@given(messages, st.data())
def test_fuzz_truncated(m: StateMessage, data: st.DataObject) -> None:
    raw = encode(m)
    cut = data.draw(st.integers(0, len(raw)))
    if cut < len(raw):
        with pytest.raises(StateDecodeError):
            decode(raw[:cut])


@given(messages, st.data())
def test_fuzz_mutated(m: StateMessage, data: st.DataObject) -> None:
    raw = bytearray(encode(m))
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(raw) - 1))
        raw[i] = data.draw(st.integers(0, 255))
    _decodes_or_rejects(bytes(raw))


def test_entries_carry_the_message_ports() -> None:
    m = one_conn_message()
    (e,) = m.entries()
    assert isinstance(e, ConnEntry) and e.ports == m.ports
    assert not isinstance(e, NatEntry)
