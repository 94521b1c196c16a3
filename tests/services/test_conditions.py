"""Each rule condition, matching and not, and with its sense inverted."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from services.simulation.chaincode import compile_chain
from services.simulation.conditions import compile_rule
from services.simulation.packet import ETH_ARP, Packet
from services.topology.builder import TopologyBuilder
from services.topology.rule import Rule

IN, OUT, OTHER = (str(uuid.UUID(int=i)) for i in (101, 102, 103))
GROUP_IN, IPG = str(uuid.UUID(int=201)), str(uuid.UUID(int=202))

PKT = Packet(
    eth_src=0x020000000001,
    eth_dst=0x020000000002,
    ip_src=0x0A000001,  # 10.0.0.1
    ip_dst=0xC0A80105,  # 192.168.1.5
    proto=6,
    ttl=64,
    src_port=1234,
    dst_port=443,
)
ICMP = Packet(eth_src=1, eth_dst=2, ip_src=1, ip_dst=2, proto=1, icmp_type=8, icmp_code=0)
FRAG = Packet(eth_src=1, eth_dst=2, ip_src=1, ip_dst=2, proto=17, fragment="later")
ARP = Packet(eth_src=1, eth_dst=0xFFFFFFFFFFFF, ethertype=ETH_ARP, arp_op=1, arp_tpa=5)


def _topo() -> Any:
    b = TopologyBuilder("cond")
    br = b.bridge("t")
    b.port(br, id=IN, port_group_ids=[GROUP_IN])
    b.port(br, id=OUT)
    b.add("port_groups", id=GROUP_IN, tenant_id="t")
    b.add("ip_address_groups", id=IPG, tenant_id="t", addresses=["192.168.1.0/24", "8.8.8.8"])
    return b.build()


TOPO = _topo()

# (condition fields, packet, expected match) -- with in_port IN and out_port OUT
CASES: list[tuple[dict[str, Any], Packet, bool]] = [
    ({"in_port_ids": [IN]}, PKT, True),
    ({"in_port_ids": [OTHER]}, PKT, False),
    ({"out_port_ids": [OUT]}, PKT, True),
    ({"out_port_ids": [OTHER]}, PKT, False),
    ({"in_port_group_id": GROUP_IN}, PKT, True),
    ({"out_port_group_id": GROUP_IN}, PKT, False),
    ({"eth_src": "02:00:00:00:00:01"}, PKT, True),
    ({"eth_src": "02:00:00:00:00:09"}, PKT, False),
    ({"eth_src": "02:00:00:ff:ff:ff", "eth_src_mask": "ff:ff:ff:00:00:00"}, PKT, True),
    ({"eth_dst": "02:00:00:00:00:02"}, PKT, True),
    ({"eth_dst": "12:00:00:00:00:02", "eth_dst_mask": "0f:ff:ff:ff:ff:ff"}, PKT, True),
    ({"eth_dst": "12:00:00:00:00:02"}, PKT, False),
    ({"ethertype": 0x0800}, PKT, True),
    ({"ethertype": 0x0806}, PKT, False),
    ({"ip_src": "10.0.0.0/8"}, PKT, True),
    ({"ip_src": "11.0.0.0/8"}, PKT, False),
    ({"ip_src": "10.0.0.0/8"}, ARP, False),
    ({"ip_dst": "192.168.1.5/32"}, PKT, True),
    ({"ip_dst": "192.168.2.0/24"}, PKT, False),
    ({"ip_dst_group_id": IPG}, PKT, True),
    ({"ip_src_group_id": IPG}, PKT, False),
    ({"ip_dst_group_id": str(uuid.UUID(int=999))}, PKT, False),  # missing group = empty
    ({"proto": "tcp"}, PKT, True),
    ({"proto": 17}, PKT, False),
    ({"src_port": [1000, 2000]}, PKT, True),
    ({"src_port": [1, 1000]}, PKT, False),
    ({"dst_port": [443, 443]}, PKT, True),
    ({"dst_port": [80, 80]}, PKT, False),
    ({"dst_port": [0, 65535]}, ICMP, False),  # no L4 port on ICMP
    ({"icmp_type": 8}, ICMP, True),
    ({"icmp_type": 0}, ICMP, False),
    ({"icmp_code": 0}, ICMP, True),
    ({"icmp_code": 1}, ICMP, False),
    ({"fragment_policy": "any"}, FRAG, True),
    ({"fragment_policy": "header"}, FRAG, False),
    ({"fragment_policy": "header"}, PKT, True),
    ({"fragment_policy": "nonheader"}, FRAG, True),
    ({"fragment_policy": "unfragmented"}, PKT, True),
    ({"fragment_policy": "unfragmented"}, FRAG, False),
    ({"proto": "tcp", "dst_port": [443, 443], "ip_src": "10.0.0.0/8"}, PKT, True),
    ({"proto": "tcp", "dst_port": [443, 443], "ip_src": "11.0.0.0/8"}, PKT, False),
    (
        {"proto": "tcp", "dst_port": [1, 2], "ip_src": "10.0.0.0/8", "ethertype": 0x800},
        PKT,
        False,
    ),
    ({}, PKT, True),
]


def _rule(conditions: dict[str, Any], invert: list[str] | None = None) -> Rule:
    return Rule.from_dict(
        {
            "id": str(uuid.UUID(int=7)),
            "tenant_id": "t",
            "chain_id": str(uuid.UUID(int=8)),
            "position": 0,
            "action": "accept",
            **conditions,
            "invert": invert or [],
        }
    )


@pytest.mark.parametrize(("conditions", "pkt", "expected"), CASES)
def test_condition(conditions: dict[str, Any], pkt: Packet, expected: bool) -> None:
    rule = _rule(conditions)
    assert compile_rule(rule, TOPO).test(pkt, IN, OUT) is expected
    # the generated chain code agrees with the reference closures
    assert compile_chain((rule,), TOPO)(pkt, IN, OUT, 0) == (0 if expected else -1)


@pytest.mark.parametrize(("conditions", "pkt", "expected"), [c for c in CASES if len(c[0]) == 1])
def test_condition_inverted(conditions: dict[str, Any], pkt: Packet, expected: bool) -> None:
    (name,) = conditions
    rule = _rule(conditions, [name])
    assert compile_rule(rule, TOPO).test(pkt, IN, OUT) is (not expected)
    assert compile_chain((rule,), TOPO)(pkt, IN, OUT, 0) == (-1 if expected else 0)


def test_invert_applies_only_to_listed_conditions() -> None:
    both = {"proto": "tcp", "dst_port": [80, 80]}
    # proto holds, dst_port does not; inverting dst_port makes the rule match
    assert compile_rule(_rule(both, ["dst_port"]), TOPO).test(PKT, IN, OUT)
    assert not compile_rule(_rule(both, ["proto"]), TOPO).test(PKT, IN, OUT)


def test_compiled_rule_reports_fields_and_group_tags() -> None:
    rule = compile_rule(_rule({"ip_dst_group_id": IPG, "in_port_group_id": GROUP_IN}), TOPO)
    assert ("ip_address_group", IPG) in rule.tags
    assert ("port_group", GROUP_IN) in rule.tags
    assert rule.mask != 0


def test_generated_chain_skips_continue_and_honours_start() -> None:
    rules = tuple(
        Rule.from_dict(
            {
                "id": str(uuid.UUID(int=50 + k)),
                "tenant_id": "t",
                "chain_id": str(uuid.UUID(int=8)),
                "position": k,
                "action": action,
                "proto": "tcp",
            }
        )
        for k, action in enumerate(["continue", "accept", "drop"])
    )
    first = compile_chain(rules, TOPO)
    assert first(PKT, IN, OUT, 0) == 1
    assert first(PKT, IN, OUT, 2) == 2
    assert first(PKT, IN, OUT, 3) == -1
    assert first(ICMP, IN, OUT, 0) == -1
