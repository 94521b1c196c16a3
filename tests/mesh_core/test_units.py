"""Unit tests of the small pure parts: suspicion, awareness, broadcast queue, keyring, codec."""

from __future__ import annotations

import math

import pytest

from mesh.awareness import Awareness
from mesh.broadcast_queue import BroadcastQueue, retransmit_limit
from mesh.codec import decode_envelope, encode_envelope, encode_message, envelope_overhead
from mesh.config import MeshConfig
from mesh.errors import AuthError, MessageError
from mesh.keyring import Keyring
from mesh.messages import (
    Ack,
    Alive,
    Dead,
    Delta,
    Digest,
    IndirectPing,
    Nack,
    Ping,
    PushPull,
    PushPullReply,
    StateChunk,
    StateRequest,
    Suspect,
)
from mesh.suspicion import Suspicion, confirmations_needed, suspicion_bounds

K1, K2, K3 = b"1" * 16, b"2" * 24, b"3" * 32

# ---- suspicion ------------------------------------------------------------------------------


def test_suspicion_bounds_follow_memberlist_formula() -> None:
    low, high = suspicion_bounds(4, 6, 1000, 1.0)
    assert low == pytest.approx(12.0)  # 4 * log10(1000) * 1 s
    assert high == pytest.approx(72.0)
    low, _ = suspicion_bounds(4, 6, 5, 1.0)
    assert low == pytest.approx(4.0)  # log10 floored at 1


def test_confirmations_needed_shrinks_for_tiny_clusters() -> None:
    assert confirmations_needed(4, 100) == 2
    assert confirmations_needed(4, 3) == 1
    assert confirmations_needed(4, 2) == 0


def test_suspicion_timeout_shrinks_with_independent_confirmations() -> None:
    s = Suspicion(10.0, "a", 0, k=3, min_timeout=2.0, max_timeout=12.0)
    assert s.deadline() == pytest.approx(22.0)
    assert not s.confirm("a")  # the source does not confirm itself
    assert s.confirm("b")
    t1 = s.timeout()
    assert not s.confirm("b")  # no double counting
    assert s.timeout() == t1
    expected = 12.0 - 10.0 * math.log(2) / math.log(4)
    assert t1 == pytest.approx(expected)
    assert s.confirm("c") and s.confirm("d")
    assert s.timeout() == pytest.approx(2.0)
    assert not s.confirm("e")  # beyond k nothing changes
    assert s.timeout() == pytest.approx(2.0)


def test_suspicion_without_expected_confirmations_uses_the_floor() -> None:
    s = Suspicion(0.0, "a", 0, k=0, min_timeout=3.0, max_timeout=18.0)
    assert s.deadline() == pytest.approx(3.0)


# ---- awareness ----------------------------------------------------------------------------------


def test_awareness_scales_and_clamps() -> None:
    a = Awareness(8)
    assert a.scale(0.5) == 0.5
    a.apply_delta(3)
    assert a.scale(0.5) == pytest.approx(2.0)
    a.apply_delta(100)
    assert a.score == 7
    a.apply_delta(-100)
    assert a.score == 0


# ---- broadcast queue ------------------------------------------------------------------------


def test_retransmit_limit_grows_with_log_n() -> None:
    assert retransmit_limit(4, 1) == 4
    assert retransmit_limit(4, 9) == 4
    assert retransmit_limit(4, 10) == 8
    assert retransmit_limit(4, 1000) == 16


def test_queue_sends_least_transmitted_first_and_retires_at_limit() -> None:
    q = BroadcastQueue()
    q.queue(b"a" * 10)
    assert q.get(100, limit=2) == [b"a" * 10]
    q.queue(b"b" * 10)
    assert q.get(15, limit=2) == [b"b" * 10]  # b has 0 transmits, a has 1
    assert q.get(15, limit=2) == [b"b" * 10]  # both sent once: newest first; b retires
    assert len(q) == 1
    assert q.get(100, limit=2) == [b"a" * 10]
    assert len(q) == 0


def test_queue_respects_budget_and_invalidates_by_key() -> None:
    q = BroadcastQueue()
    q.queue(b"old", key=("member", "x"))
    q.queue(b"new", key=("member", "x"))
    q.queue(b"z" * 50)
    assert len(q) == 2
    got = q.get(20, limit=5)
    assert got == [b"new"]
    assert sorted(q.get(100, limit=5)) == [b"new", b"z" * 50]


def test_queue_prune_drops_most_transmitted() -> None:
    q = BroadcastQueue()
    for i in range(5):
        q.queue(bytes([i]) * 10)
    q.get(25, limit=10)  # two items now have 1 transmit
    assert q.prune(3) == 2
    assert len(q) == 3
    assert all(len(x) == 10 for x in q.get(1000, limit=10))


# ---- keyring ----------------------------------------------------------------------------------


def test_keyring_seals_with_primary_and_opens_with_any() -> None:
    a = Keyring(K1, [K2])
    b = Keyring(K2, [K1])
    sealed = a.seal(b"hello")
    assert len(sealed) == 5 + 28
    assert b.open(sealed) == b"hello"
    assert a.open(b.seal(b"x")) == b"x"


def test_keyring_rotation_install_use_remove() -> None:
    r = Keyring(K1)
    old = r.seal(b"old")
    r.install(K3)
    r.use(K3)
    assert r.primary == K3
    assert r.open(old) == b"old"
    r.remove(K1)
    with pytest.raises(AuthError):
        r.open(old)
    with pytest.raises(ValueError):
        r.remove(K3)  # primary
    with pytest.raises(KeyError):
        r.use(K1)


def test_keyring_rejects_bad_keys_and_tampering() -> None:
    with pytest.raises(ValueError):
        Keyring(b"short")
    r = Keyring(K1)
    sealed = bytearray(r.seal(b"payload"))
    sealed[-1] ^= 1
    with pytest.raises(AuthError):
        r.open(bytes(sealed))
    with pytest.raises(AuthError):
        r.open(b"tiny")
    with pytest.raises(AuthError):
        Keyring(K2).open(r.seal(b"x"))


# ---- codec ------------------------------------------------------------------------------------

ALL = [
    Ping(1, "h1"),
    IndirectPing(2, "h2", ("10.0.0.2", 7946), True),
    Ack(3),
    Nack(4),
    Alive("h1", 5, ("10.0.0.1", 7946), "192.168.0.1", ("10.0.0.1", 8080)),
    Alive("h1", 5, ("10.0.0.1", 7946), "192.168.0.1", None),
    Suspect("h1", 6, "h2"),
    Dead("h1", 7, "h1"),
    Delta("kv", "h1/abc", 8, 1.5, b"\x01\x02"),
    Digest(10, 12345, 99, False),
    StateChunk("kv", 9, 0, 100, b"x" * 10, {"o": 3}),
    PushPull(True, [("h1", ("a", 1), "u", None, "alive", 2)], {"kv": {"o": 1}}),
    PushPullReply(
        [("h1", ("a", 1), "u", ("b", 2), "dead", 2)],
        {"kv": {}},
        [Delta("kv", "o", 1, 0.0, b"")],
        [StateChunk("kv", 1, 0, 1, b"z", {})],
        True,
    ),
    StateRequest("kv", 9, 10),
]


@pytest.mark.parametrize("sealed", [False, True])
def test_codec_round_trips_every_message(sealed: bool) -> None:
    ring = Keyring(K1) if sealed else None
    data = encode_envelope("h9", 42.5, [encode_message(m) for m in ALL], ring)
    sender, ts, msgs = decode_envelope(data, ring)
    assert (sender, ts, msgs) == ("h9", 42.5, ALL)


def test_codec_overhead_bound_holds() -> None:
    for ring in (None, Keyring(K1)):
        items = [encode_message(Ack(1))] * 20
        data = encode_envelope("host-with-a-long-name", 1e9, items, ring)
        assert len(data) <= envelope_overhead("host-with-a-long-name", ring) + sum(map(len, items))


def test_codec_rejects_version_flags_and_key_mismatch() -> None:
    good = encode_envelope("h", 1.0, [encode_message(Ack(1))], None)
    with pytest.raises(MessageError):
        decode_envelope(b"\x02" + good[1:], None)
    with pytest.raises(MessageError):
        decode_envelope(good[:1] + b"\x04" + good[2:], None)
    with pytest.raises(AuthError):
        decode_envelope(good, Keyring(K1))  # plaintext while encryption is on
    sealed = encode_envelope("h", 1.0, [encode_message(Ack(1))], Keyring(K1))
    with pytest.raises(AuthError):
        decode_envelope(sealed, None)
    with pytest.raises(AuthError):
        decode_envelope(sealed, Keyring(K2))


def test_config_profiles_differ_and_accept_overrides() -> None:
    lan, wan, local = MeshConfig.lan(), MeshConfig.wan(), MeshConfig.local()
    assert lan == MeshConfig()
    assert wan.probe_interval > lan.probe_interval and wan.gossip_fanout == 4
    assert local.gossip_interval < lan.gossip_interval
    assert MeshConfig.lan(mtu=1200).mtu == 1200
