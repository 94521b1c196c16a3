"""The rule loop: order, first terminal action, continue, jump/return, loop detection."""

from __future__ import annotations

from typing import Any

from services.simulation import Decision, DictStateView, simulate
from services.simulation.packet import Packet
from services.topology.builder import TopologyBuilder

PKT = Packet(
    eth_src=0x020000000001,
    eth_dst=0x020000000002,
    ip_src=1,
    ip_dst=2,
    proto=6,
    ttl=9,
    src_port=5,
    dst_port=22,
)


def _run(setup: Any) -> Any:
    """Two VM ports on a bridge whose inbound chain `setup(b, chain)` fills."""
    b = TopologyBuilder("chain")
    chain = b.chain("t")
    br = b.bridge("t", inbound_chain_id=chain)
    src = b.vm_port(br, "h1", mac="02:00:00:00:00:01")
    b.vm_port(br, "h2", mac="02:00:00:00:00:02")
    setup(b, chain)
    return simulate(b.build(), DictStateView(), src, PKT)


def test_empty_chain_accepts() -> None:
    assert _run(lambda b, c: None).decision is Decision.FORWARD


def test_first_terminal_rule_by_position_decides() -> None:
    def setup(b: TopologyBuilder, c: str) -> None:
        b.rule(c, 20, "accept")
        b.rule(c, 10, "drop", proto="tcp")
        b.rule(c, 5, "accept", proto="udp")  # does not match

    r = _run(setup)
    assert r.decision is Decision.DROP
    assert r.reason == "bridge inbound chain drop"


def test_continue_goes_on_and_reject_sends_icmp() -> None:
    def setup(b: TopologyBuilder, c: str) -> None:
        b.rule(c, 1, "continue")
        b.rule(c, 2, "reject", dst_port=[22, 22])

    r = _run(setup)
    assert r.decision is Decision.REJECT
    (err,) = r.generated
    assert err.packet.icmp_type == 3 and err.packet.icmp_code == 13


def test_jump_and_return() -> None:
    ids: dict[str, str] = {}

    def setup(b: TopologyBuilder, c: str) -> None:
        sub = b.chain("t")
        b.rule(c, 1, "jump", jump_chain_id=sub)
        b.rule(c, 2, "drop")
        b.rule(sub, 1, "return", proto="tcp")
        ids["accept"] = b.rule(sub, 2, "accept")

    r = _run(setup)
    assert r.decision is Decision.DROP  # returned from sub, then the drop at position 2

    def setup2(b: TopologyBuilder, c: str) -> None:
        sub = b.chain("t")
        b.rule(c, 1, "jump", jump_chain_id=sub)
        b.rule(c, 2, "drop")
        ids["accept"] = b.rule(sub, 1, "accept", proto="tcp")

    r = _run(setup2)
    assert r.decision is Decision.FORWARD
    chain_hop = next(h for h in r.hops if h.kind == "chain")
    assert chain_hop.rule == ids["accept"]


def test_return_from_top_chain_accepts() -> None:
    def setup(b: TopologyBuilder, c: str) -> None:
        b.rule(c, 1, "return")
        b.rule(c, 2, "drop")

    assert _run(setup).decision is Decision.FORWARD


def test_jump_loop_is_detected_and_drops() -> None:
    def setup(b: TopologyBuilder, c: str) -> None:
        sub = b.chain("t")
        b.rule(c, 1, "jump", jump_chain_id=sub)
        b.rule(sub, 1, "jump", jump_chain_id=c)

    r = _run(setup)
    assert r.decision is Decision.DROP
    chain_hop = next(h for h in r.hops if h.kind == "chain")
    assert chain_hop.reason == "chain jump loop"


def test_missing_chain_fails_closed() -> None:
    def setup(b: TopologyBuilder, c: str) -> None:
        b.rule(c, 1, "jump", jump_chain_id=b.new_id())

    r = _run(setup)
    assert r.decision is Decision.DROP
    assert any(h.reason == "missing chain" for h in r.hops)


def test_port_chains_see_their_direction() -> None:
    b = TopologyBuilder("dir")
    cin, cout = b.chain("t"), b.chain("t")
    b.rule(cin, 1, "drop", dst_port=[22, 22])
    b.rule(cout, 1, "drop", dst_port=[23, 23])
    br = b.bridge("t")
    src = b.vm_port(br, "h1", mac="02:00:00:00:00:01", inbound_chain_id=cin)
    b.vm_port(br, "h2", mac="02:00:00:00:00:02", outbound_chain_id=cout)
    t = b.build()
    assert simulate(t, DictStateView(), src, PKT).decision is Decision.DROP

    assert simulate(t, DictStateView(), src, PKT._replace(dst_port=23)).decision is Decision.DROP
    assert simulate(t, DictStateView(), src, PKT._replace(dst_port=24)).decision is Decision.FORWARD
