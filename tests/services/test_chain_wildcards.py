"""Wildcards: a decision records only the fields its conditions (and routing) really read."""

from __future__ import annotations

import random
from typing import Any

import pytest

from services.simulation import Decision, DictStateView, SimulationResult, simulate
from services.simulation import packet as pk
from services.simulation.chain import compiled_chain
from services.simulation.packet import FIELD_NAMES, Packet
from services.topology.addr import parse_ip
from services.topology.builder import TopologyBuilder
from tests.services.randtopo import vary_unmasked

PKT = Packet(
    eth_src=0x020000000001,
    eth_dst=0x020000000002,
    ip_src=parse_ip("10.0.0.1", "t"),
    ip_dst=parse_ip("10.0.0.2", "t"),
    proto=6,
    ttl=9,
    src_port=53412,
    dst_port=23,
)

# (rule conditions, the packet fields those conditions need, hit on PKT?)
CASES: list[tuple[dict[str, Any], set[str], bool]] = [
    ({"dst_port": [23, 23]}, {"dst_port"}, True),
    ({"dst_port": [24, 24]}, {"dst_port"}, False),
    ({"src_port": [53412, 53412]}, {"src_port"}, True),
    ({"ip_dst": "10.0.0.2/32"}, {"ip_dst"}, True),
    ({"ip_src": "10.9.0.0/16"}, {"ip_src"}, False),
    ({"proto": "tcp", "dst_port": [23, 23]}, {"proto", "dst_port"}, True),
    ({"proto": "udp", "src_port": [1, 2]}, {"proto", "src_port"}, False),
    ({"eth_src": "02:00:00:00:00:01"}, {"eth_src"}, True),
    ({"ethertype": 0x0800}, {"ethertype"}, True),
    ({"icmp_type": 8}, {"icmp_type"}, False),
    ({"fragment_policy": "unfragmented"}, {"fragment"}, True),
]


def _names(mask: int) -> set[str]:
    return {n for i, n in enumerate(FIELD_NAMES) if mask >> i & 1}


class _Recorder:
    """A packet stand-in that records which fields the generated chain code loads."""

    def __init__(self, pkt: Packet) -> None:
        self._pkt = pkt
        self.read: set[str] = set()

    def __getattr__(self, name: str) -> Any:
        self.read.add(name)
        return getattr(self._pkt, name)


def _bridge(conds: dict[str, Any]) -> tuple[Any, str, str]:
    b = TopologyBuilder("wild")
    chain = b.chain("t")
    br = b.bridge("t", inbound_chain_id=chain)
    src = b.vm_port(br, "h1", mac="02:00:00:00:00:01")
    b.vm_port(br, "h2", mac="02:00:00:00:00:02")
    b.rule(chain, 1, "drop", **conds)
    return b.build(), src, chain


@pytest.mark.parametrize(("conds", "need", "hit"), CASES)
def test_interpreter_marks_only_the_rule_fields(
    conds: dict[str, Any], need: set[str], hit: bool
) -> None:
    topo, _, chain_id = _bridge(conds)
    chain = compiled_chain(topo, chain_id)
    assert chain is not None
    (rule,) = chain.rules
    assert _names(rule.mask) == need
    assert rule.test(PKT, "x", None) is hit


@pytest.mark.parametrize(("conds", "need", "hit"), CASES)
def test_compiled_code_reads_only_the_rule_fields(
    conds: dict[str, Any], need: set[str], hit: bool
) -> None:
    topo, _, chain_id = _bridge(conds)
    chain = compiled_chain(topo, chain_id)
    assert chain is not None
    rec = _Recorder(PKT)
    k = chain.first_match(rec, "x", None, 0)  # type: ignore[arg-type]
    assert (k == 0) is hit
    assert rec.read == need


@pytest.mark.parametrize(("conds", "need", "hit"), [c for c in CASES if c[2]])
def test_drop_flow_matches_only_the_rule_fields(
    conds: dict[str, Any], need: set[str], hit: bool
) -> None:
    topo, src, _ = _bridge(conds)
    r = simulate(topo, DictStateView(), src, PKT)
    assert r.decision is Decision.DROP
    assert _names(r.match.mask) == need  # the chain runs before the bridge reads anything


def _routed_world(extra_route: bool, ecmp: bool) -> tuple[Any, str, Packet]:
    """netA - router - netB, netB's inbound chain drops TCP to port 23 (as `make demo`)."""
    b = TopologyBuilder("demo")
    r = b.router("p")
    chain = b.chain("B")
    ba = b.bridge("A")
    bb = b.bridge("B", inbound_chain_id=chain)
    ra, _ = b.attach(r, ba, "10.0.1.1/24")
    rb, _ = b.attach(r, bb, "10.0.2.1/24")
    rc, _ = b.attach(r, b.bridge("C"), "10.0.3.1/24")
    if extra_route:  # explicit routes duplicating the ports' connected routes
        b.route(r, "10.0.1.0/24", next_hop_port=ra)
        b.route(r, "10.0.2.0/24", next_hop_port=rb)
    if ecmp:  # a real second path: a different port and gateway
        b.route(r, "10.0.2.0/24", next_hop_port=rc, next_hop_gw="10.0.3.9")
    a1 = b.vm_port(ba, "h1", ip="10.0.1.11", mac="02:00:00:00:01:11")
    b.vm_port(bb, "h2", ip="10.0.2.12", mac="02:00:00:00:02:12")
    b.rule(chain, 1, "drop", proto="icmp", ip_src="10.0.1.13/32")
    b.rule(chain, 2, "drop", proto="tcp", dst_port=[23, 23])
    topo = b.build()
    pkt = PKT._replace(
        eth_src=0x020000000111,
        eth_dst=topo.ports[ra].mac,
        ip_src=parse_ip("10.0.1.11", "t"),
        ip_dst=parse_ip("10.0.2.12", "t"),
        ttl=64,
    )
    return topo, a1, pkt


def _sound(topo: Any, src: str, pkt: Packet, r: SimulationResult) -> None:
    rng = random.Random(7)
    for _ in range(50):
        other = vary_unmasked(rng, pkt, r.match.mask)
        r2 = simulate(topo, DictStateView(), src, other)
        assert r2.match == r.match, other
        assert r2.decision == r.decision and r2.egress_ports == r.egress_ports
        assert r2.generated == r.generated


@pytest.mark.parametrize("extra_route", [False, True])
def test_routed_drop_is_not_per_source_port(extra_route: bool) -> None:
    """An explicit route equal to the connected one is no ECMP: the 5-tuple is not read."""
    topo, src, pkt = _routed_world(extra_route, ecmp=False)
    r = simulate(topo, DictStateView(), src, pkt)
    assert r.decision is Decision.DROP
    assert not r.match.mask & pk.SRC_PORT, _names(r.match.mask)
    assert r.match.mask & pk.DST_PORT and r.match.mask & pk.PROTO
    _sound(topo, src, pkt, r)


def test_real_ecmp_still_reads_the_five_tuple() -> None:
    topo, src, pkt = _routed_world(extra_route=True, ecmp=True)
    r = simulate(topo, DictStateView(), src, pkt)
    assert r.match.mask & pk.FIVE_TUPLE == pk.FIVE_TUPLE
    _sound(topo, src, pkt, r)
