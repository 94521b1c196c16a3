"""Fuzzing the message decoder and the node's input paths: only MessageError/AuthError,
every bad input counted, the node keeps working."""

from __future__ import annotations

import contextlib
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

import crdt
from mesh.codec import decode_envelope, encode_envelope, encode_message
from mesh.config import MeshConfig
from mesh.errors import MessageError
from mesh.keyring import Keyring
from mesh.member import MemberMeta
from mesh.messages import Alive, Delta, PushPull, StateChunk, Suspect
from mesh.node import MeshNode
from mesh.outputs import OpenStream, SendDatagram

KEY = b"k" * 16
SAMPLES = [
    encode_envelope(
        "h1",
        5.0,
        [
            encode_message(Alive("h1", 3, ("10.0.0.1", 1), "u", None)),
            encode_message(Suspect("h2", 1, "h1")),
            encode_message(Delta("kv", "h1/x", 1, 1.0, b"\x93\x01\x02\x03")),
        ],
        None,
    ),
    encode_envelope(
        "h1",
        5.0,
        [
            encode_message(
                PushPull(False, [("h1", ("a", 1), "u", None, "alive", 1)], {"kv": {"o": 2}})
            ),
            encode_message(StateChunk("kv", 1, 0, 3, b"abc", {"o": 1})),
        ],
        None,
    ),
]


def _decode_only_raises_message_errors(data: bytes, ring: Keyring | None) -> None:
    with contextlib.suppress(MessageError):  # AuthError is a MessageError
        decode_envelope(data, ring)


@given(st.binary(max_size=2000))
def test_random_bytes(data: bytes) -> None:
    _decode_only_raises_message_errors(data, None)
    _decode_only_raises_message_errors(data, Keyring(KEY))
    _decode_only_raises_message_errors(b"\x01\x00" + data, None)


@given(st.sampled_from(SAMPLES), st.integers(min_value=0), st.data())
def test_truncated_and_bit_flipped(sample: bytes, cut: int, data: st.DataObject) -> None:
    _decode_only_raises_message_errors(sample[: cut % len(sample)], None)
    flipped = bytearray(sample)
    for _ in range(data.draw(st.integers(1, 4))):
        pos = data.draw(st.integers(0, len(sample) - 1))
        flipped[pos] ^= 1 << data.draw(st.integers(0, 7))
    _decode_only_raises_message_errors(bytes(flipped), None)


def _node(ring: Keyring | None) -> MeshNode:
    meta = MemberMeta("me", ("10.0.0.9", 7946), "u", None)
    n = MeshNode(MeshConfig.lan(), meta, rng=random.Random(1), keyring=ring)
    n.table("kv", lambda: crdt.ORMap(crdt.LWWRegister))
    return n


@pytest.mark.parametrize("encrypted", [False, True])
@given(payloads=st.lists(st.binary(max_size=1500), min_size=1, max_size=5))
def test_node_counts_bad_input_and_keeps_working(encrypted: bool, payloads: list[bytes]) -> None:
    ring = Keyring(KEY) if encrypted else None
    n = _node(ring)
    src = ("10.0.0.1", 7946)
    for p in payloads:
        assert n.receive_datagram(1.0, src, p) == []
        assert n.handle_stream_request(1.0, src, p) == b""
    assert sum(n.metrics.drops.values()) >= 2 * len(payloads)
    # still works: a valid ping from a peer gets an ack
    good = encode_envelope(
        "h1",
        1.0,
        [
            encode_message(Alive("h1", 1, src, "u", None)),
        ],
        ring,
    )
    n.receive_datagram(1.0, src, good)
    assert [m.meta.host_id for m in n.members()] == ["me", "h1"]
    outs = n.tick(2.0) + n.tick(3.0)
    assert any(isinstance(o, SendDatagram) and o.dst == src for o in outs)


def test_node_drops_stale_oversized_and_bad_stream_replies() -> None:
    n = _node(None)
    src = ("10.0.0.1", 7946)
    old = encode_envelope("h1", 0.0, [encode_message(Suspect("me", 0, "h1"))], None)
    assert n.receive_datagram(1000.0, src, old) == []
    assert n.metrics.drops["stale"] == 1
    assert n.receive_datagram(1000.0, src, b"\x01\x00" + b"\x00" * 2000) == []
    assert n.metrics.drops["oversized"] == 1
    opened = n.join(1000.0, [src])
    assert isinstance(opened[0], OpenStream)
    assert n.handle_stream_response(1000.0, opened[0].stream_id, b"garbage") == []
    assert n.metrics.drops["malformed"] == 1
    assert n.handle_stream_response(1000.0, 424242, b"garbage") == []  # unknown stream


def test_unanswered_streams_expire_so_the_peer_can_be_pulled_again() -> None:
    n = _node(None)
    seed = ("10.0.0.1", 7946)
    first = n.join(0.0, [seed])
    assert len(first) == 1
    n.tick(1.0)
    outs = n.tick(n.config.stream_expiry + 2.0)  # alone, so the seed is retried...
    assert n.metrics.drops["stream_expired"] == 1  # ...once the lost stream expired
    assert any(isinstance(o, OpenStream) and o.dst == seed for o in outs)


@given(st.sampled_from(SAMPLES), st.integers(min_value=1), st.data())
def test_node_survives_truncated_and_bit_flipped_datagrams(
    sample: bytes, cut: int, data: st.DataObject
) -> None:
    n = _node(None)
    src = ("10.0.0.1", 7946)
    flipped = bytearray(sample)
    pos = data.draw(st.integers(0, len(sample) - 1))
    flipped[pos] ^= 1 << data.draw(st.integers(0, 7))
    for payload in (sample[: cut % len(sample)], bytes(flipped)):
        before = sum(n.metrics.drops.values())
        handled = n.metrics.messages_in["datagram"]
        outs = n.receive_datagram(5.0, src, payload)
        assert isinstance(outs, list)
        assert n.metrics.messages_in["datagram"] == handled + 1
        # either dropped and counted, or it decoded into valid messages that were handled
        assert sum(n.metrics.drops.values()) > before or any(
            n.metrics.messages_in[k] for k in ("alive", "suspect", "delta", "push_pull")
        )
    assert n.tick(6.0) is not None


def test_drop_log_is_rate_limited_by_the_time_passed_in(caplog: pytest.LogCaptureFixture) -> None:
    n = _node(None)
    src = ("10.0.0.1", 7946)
    with caplog.at_level("WARNING", logger="mesh.node"):
        for i in range(5):
            n.receive_datagram(100.0 + i, src, b"junk")
        n.receive_datagram(100.0 + n.config.log_interval, src, b"junk")
    lines = [r for r in caplog.records if "malformed" in r.getMessage()]
    assert n.metrics.drops["malformed"] == 6
    assert len(lines) == 2
