"""Packets waiting on ARP: the pure holding queue (bounds, deadlines, resolution) and the
packet path holding a needs-ARP packet, replaying it once the ARP reply is learned, and
re-simulating it after the bound until the router answers host unreachable."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from datapath.api import Upcall, UpcallKind
from datapath.flow.actions import Output
from datapath.packet import build
from services.agent.arp_wait import ArpWaitQueue, Held
from services.agent.packet_path import PacketPath, PathConfig
from services.agent.translate import key_of
from services.simulation.packet import PROTO_UDP, Packet
from services.simulation.result import ArpLearned
from services.topology.addr import parse_ip
from services.topology.builder import TopologyBuilder
from tests.agent.test_packet_path import FakeDatapath, Sources

# ---------------------------------------------------------------- the pure queue


def test_resolved_returns_the_keys_items_in_order_and_only_them() -> None:
    q: ArpWaitQueue[Any, str] = ArpWaitQueue(per_key=4, total=10, timeout=1.0)
    assert q.hold(("r", 1), "a", 0.0) is Held.HELD
    assert q.hold(("r", 2), "x", 0.0) is Held.HELD
    assert q.hold(("r", 1), "b", 0.1) is Held.HELD
    assert len(q) == 3 and q.waiting(("r", 1)) == 2
    assert q.resolved(("r", 1)) == ["a", "b"]
    assert q.resolved(("r", 1)) == []
    assert len(q) == 1 and q.waiting(("r", 1)) == 0
    assert q.resolved(("r", 2)) == ["x"]
    assert len(q) == 0


def test_items_expire_at_their_own_deadline() -> None:
    q: ArpWaitQueue[Any, str] = ArpWaitQueue(per_key=4, total=10, timeout=1.0)
    q.hold("k", "a", 0.0)
    q.hold("k", "b", 0.5)
    q.hold("j", "c", 0.2)
    assert q.next_deadline() == 1.0
    assert q.expired(0.99) == []
    assert q.expired(1.0) == [("k", "a")]
    assert q.expired(1.3) == [("j", "c")]
    assert q.expired(1.5) == [("k", "b")]
    assert len(q) == 0 and q.next_deadline() is None


def test_front_puts_an_item_ahead_of_the_keys_others() -> None:
    q: ArpWaitQueue[Any, str] = ArpWaitQueue(per_key=2, total=10, timeout=1.0)
    q.hold("k", "new", 0.0)
    q.hold("k", "old", 0.0, front=True)
    assert q.resolved("k") == ["old", "new"]
    q.hold("k", "a", 0.0)
    q.hold("k", "b", 0.0)
    assert q.hold("k", "c", 0.0, front=True) is Held.HELD_DROPPED_OLDEST
    assert q.resolved("k") == ["c", "b"]


def test_per_key_fifo_drops_its_oldest_and_global_cap_refuses() -> None:
    q: ArpWaitQueue[Any, int] = ArpWaitQueue(per_key=2, total=3, timeout=1.0)
    assert q.hold("k", 1, 0.0) is Held.HELD
    assert q.hold("k", 2, 0.0) is Held.HELD
    assert q.hold("k", 3, 0.0) is Held.HELD_DROPPED_OLDEST
    assert q.waiting("k") == 2 and len(q) == 2
    assert q.hold("j", 4, 0.0) is Held.HELD
    assert q.hold("i", 5, 0.0) is Held.REFUSED
    assert q.hold("k", 6, 0.0) is Held.HELD_DROPPED_OLDEST  # a full key still rotates
    assert len(q) == 3
    assert q.resolved("k") == [3, 6]
    assert q.resolved("i") == []


def test_bad_bounds_are_refused() -> None:
    with pytest.raises(ValueError):
        ArpWaitQueue(per_key=0)
    with pytest.raises(ValueError):
        ArpWaitQueue(timeout=0)


ops = st.lists(
    st.tuples(
        st.sampled_from(["hold", "resolve", "expire"]),
        st.integers(0, 3),
        st.floats(0, 0.5),
    ),
    max_size=60,
)


@given(ops)
def test_bounds_hold_and_every_item_leaves_exactly_once(
    script: list[tuple[str, int, float]],
) -> None:
    q: ArpWaitQueue[Any, int] = ArpWaitQueue(per_key=3, total=5, timeout=1.0)
    now = 0.0
    held: set[int] = set()
    out: list[int] = []
    dropped = 0
    for n, (op, key, dt) in enumerate(script):
        now += dt
        if op == "hold":
            r = q.hold(key, n, now)
            if r is not Held.REFUSED:
                held.add(n)
            if r is Held.HELD_DROPPED_OLDEST:
                dropped += 1
        elif op == "resolve":
            out += q.resolved(key)
        else:
            out += [item for _k, item in q.expired(now)]
        assert len(q) <= 5
        assert all(q.waiting(k) <= 3 for k in range(4))
    out += [item for _k, item in q.expired(now + 10)]
    assert len(q) == 0
    assert len(out) == len(set(out)) and set(out) <= held
    assert len(held) - len(out) == dropped


# ---------------------------------------------------------------- the packet path


def _routed() -> tuple[Sources, dict[str, str]]:
    """VM `src` (10.0.1.5, bridge B) behind a router; next hop 10.0.0.9 on bridge A is not a
    known port address, so the router must ARP for it."""
    b = TopologyBuilder("aw")
    ids = {"a": b.bridge("A"), "b": b.bridge("B"), "r": b.router("A")}
    ids["dst"] = b.port(ids["a"], binding={"host_id": "h1", "interface": "t1"}, addresses=[])
    ids["src"] = b.port(
        ids["b"], binding={"host_id": "h1", "interface": "t2"}, addresses=["10.0.1.5"]
    )
    ids["ra"], _ = b.attach(ids["r"], ids["a"], "10.0.0.1/24")
    ids["rb"], _ = b.attach(ids["r"], ids["b"], "10.0.1.1/24")
    return Sources(b.build()), ids


def _to_unresolved(src: Sources, ids: dict[str, str], port_no: int, tag: bytes) -> Upcall:
    pkt = Packet(
        eth_src=src.topo.ports[ids["src"]].mac,
        eth_dst=src.topo.ports[ids["rb"]].mac,
        ip_src=parse_ip("10.0.1.5"),
        ip_dst=parse_ip("10.0.0.9"),
        proto=PROTO_UDP,
        ttl=64,
        src_port=1000,
        dst_port=53,
    )
    frame = build.udp_frame(
        pkt.eth_src, pkt.eth_dst, pkt.ip_src or 0, pkt.ip_dst or 0, 1000, 53, tag * 4
    )
    return Upcall(UpcallKind.MISS, key_of(pkt, port_no), frame)


async def _settle(path: PacketPath) -> None:
    for _ in range(50):
        await asyncio.sleep(0)
        if path.queued() == 0:
            break
    await asyncio.sleep(0)


async def test_needs_arp_packet_is_held_and_replayed_when_the_reply_is_learned() -> None:
    src, ids = _routed()
    dp = FakeDatapath()
    path = PacketPath(dp, "h1", src, PathConfig(expiry_interval=3600))
    await path.start()
    try:
        p_src = path.bindings[ids["src"]].port_no
        p_dst = path.bindings[ids["dst"]].port_no
        await path.handle_safely(_to_unresolved(src, ids, p_src, b"HELD"))
        assert path.counters["arp_wait_held"] == 1
        assert path.status_json()["arp_waiting"] == 1
        assert path.counters["generated_sent"] == 1  # the ARP request
        assert not any(b"HELD" in pkt for pkt, _ in dp.executed)
        # the next hop answers: learned through the packet path's own commit
        mac = 0x02BB00000009
        reply = Packet(
            eth_src=mac,
            eth_dst=src.topo.ports[ids["ra"]].mac,
            ethertype=0x0806,
            arp_op=2,
            arp_sha=mac,
            arp_spa=parse_ip("10.0.0.9"),
            arp_tha=src.topo.ports[ids["ra"]].mac,
            arp_tpa=parse_ip("10.0.0.1"),
        )
        await path.handle_safely(Upcall(UpcallKind.MISS, key_of(reply, p_dst), b"\x00" * 60))
        assert ArpLearned(ids["r"], parse_ip("10.0.0.9"), mac) in src.committed
        await _settle(path)
        assert path.counters["arp_wait_resolved"] == 1
        assert path.status_json()["arp_waiting"] == 0
        replayed = [acts for pkt, acts in dp.executed if b"HELD" in pkt]
        assert len(replayed) == 1 and replayed[0][-1] == Output(p_dst)
        assert path.counters["flows_installed"] >= 1
    finally:
        await path.stop()


async def test_unanswered_arp_ends_in_host_unreachable_after_the_bound() -> None:
    src, ids = _routed()
    dp = FakeDatapath()
    path = PacketPath(dp, "h1", src, PathConfig(expiry_interval=3600))
    await path.start()
    try:
        p_src = path.bindings[ids["src"]].port_no
        await path.handle_safely(_to_unresolved(src, ids, p_src, b"LOST"))
        rounds = 0
        while path.status_json()["arp_waiting"] and rounds < 10:
            rounds += 1
            await path.expire(path.clock() + path.cfg.arp_hold + 0.1)
            await _settle(path)
        assert path.status_json()["arp_waiting"] == 0
        assert path.counters["arp_wait_expired"] == rounds == 3  # one per ARP attempt
        assert path.counters["arp_wait_held"] == 3
        # 3 ARP requests, then the router's ICMP host unreachable back to the sender
        assert path.counters["generated_sent"] == 4
        last_pkt, last_actions = dp.executed[-1]
        assert last_actions == (Output(p_src),)
        assert last_pkt[23] == 1 and last_pkt[34:36] == b"\x03\x01"  # ICMP host unreachable
        assert not any(b"LOST" in pkt for pkt, _ in dp.executed)
        assert path.counters["error_drops"] + path.counters["flows_installed"] >= 1
    finally:
        await path.stop()


async def test_holding_is_bounded_per_next_hop() -> None:
    src, ids = _routed()
    dp = FakeDatapath()
    cfg = PathConfig(expiry_interval=3600, arp_hold_per_hop=2)
    path = PacketPath(dp, "h1", src, cfg)
    await path.start()
    try:
        p_src = path.bindings[ids["src"]].port_no
        for i in range(2):
            await path.handle_safely(_to_unresolved(src, ids, p_src, b"P%d" % i))
        path.arp.forget_attempts()  # keep the simulation asking for ARP, not rejecting
        await path.handle_safely(_to_unresolved(src, ids, p_src, b"P2"))
        assert path.status_json()["arp_waiting"] == 2
        assert path.counters["arp_wait_overflow"] == 1
    finally:
        await path.stop()


async def test_a_burst_waits_on_one_arp_attempt_per_bound_and_keeps_its_order() -> None:
    src, ids = _routed()
    dp = FakeDatapath()
    path = PacketPath(dp, "h1", src, PathConfig(expiry_interval=3600))
    await path.start()
    try:
        p_src = path.bindings[ids["src"]].port_no
        p_dst = path.bindings[ids["dst"]].port_no
        for tag in (b"P0", b"P1", b"P2"):
            await path.handle_safely(_to_unresolved(src, ids, p_src, tag))
        sent = path.counters["generated_sent"]
        assert sent == 1  # the first packet's ARP request; the others wait with it
        assert path.counters["arp_wait_coalesced"] == 2
        await path.expire(path.clock() + path.cfg.arp_hold + 0.1)
        await _settle(path)
        assert path.counters["arp_wait_expired"] == 3
        assert path.counters["arp_wait_retried"] == 1
        assert path.counters["generated_sent"] == sent + 1  # one more ARP request, not three
        assert path.status_json()["arp_waiting"] == 3
        path.learn([ArpLearned(ids["r"], parse_ip("10.0.0.9"), 0x02BB00000009)])
        await _settle(path)
        replayed = [
            pkt[-2:]
            for pkt, acts in dp.executed
            if pkt[12:14] == b"\x08\x00" and acts and acts[-1] == Output(p_dst)
        ]
        assert replayed == [b"P0", b"P1", b"P2"]
        assert path.status_json()["arp_waiting"] == 0
    finally:
        await path.stop()


async def test_a_burst_to_a_silent_next_hop_all_get_host_unreachable() -> None:
    src, ids = _routed()
    dp = FakeDatapath()
    now = [1000.0]
    path = PacketPath(dp, "h1", src, PathConfig(expiry_interval=3600), clock=lambda: now[0])
    await path.start()
    try:
        p_src = path.bindings[ids["src"]].port_no
        for tag in (b"P0", b"P1", b"P2"):
            await path.handle_safely(_to_unresolved(src, ids, p_src, tag))
        rounds = 0
        while path.status_json()["arp_waiting"] and rounds < 10:
            rounds += 1
            now[0] += path.cfg.arp_hold + 0.1
            await path.expire(now[0])
            await _settle(path)
        assert path.status_json()["arp_waiting"] == 0
        assert path.counters["arp_wait_abandoned"] == 0
        unreachable = [
            pkt
            for pkt, acts in dp.executed
            if acts == (Output(p_src),) and pkt[23] == 1 and pkt[34:36] == b"\x03\x01"
        ]
        assert len(unreachable) == 3
        assert rounds == 3  # as for one packet: an ARP attempt per bound, then all answered
        assert path.counters["generated_sent"] == 3 + 3  # 3 ARP requests, 3 ICMP errors
    finally:
        await path.stop()
