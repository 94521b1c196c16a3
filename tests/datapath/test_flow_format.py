"""Flows as text (datapath.flow.format): matched fields only, addresses in their notation,
every action type named, and anything that is not an action refused."""

from __future__ import annotations

from typing import cast

import pytest

from datapath.flow.actions import (
    Action,
    Drop,
    Output,
    PopVlan,
    PushVlan,
    SetField,
    SetMasked,
    SetTunnel,
    Userspace,
)
from datapath.flow.addr import ip4, mac
from datapath.flow.format import action_str, actions_str, match_str
from datapath.flow.key import (
    ArpKey,
    EthernetKey,
    FlowKey,
    Ipv4Key,
    TcpKey,
    TunnelKey,
    VlanKey,
)
from datapath.flow.mask import FlowMask, full

M1, M2 = mac("02:00:00:00:00:01"), mac("02:00:00:00:00:02")


def test_match_shows_only_the_masked_fields() -> None:
    key = FlowKey(
        in_port=3,
        eth=EthernetKey(M1, M2),
        eth_type=0x0800,
        ipv4=Ipv4Key(ip4("10.0.0.1"), ip4("10.0.0.2"), 6, 0, 64),
        tcp=TcpKey(1000, 80),
    )
    mask = FlowMask(
        in_port=0xFFFFFFFF,
        eth=EthernetKey(0, (1 << 48) - 1),
        ipv4=Ipv4Key(dst=0xFFFFFFFF, proto=0xFF),
        tcp=TcpKey(dst=0xFFFF),
    )
    assert match_str(key, mask) == (
        "in_port(3),eth(dst=02:00:00:00:00:02),eth_type(0x0800),"
        "ipv4(dst=10.0.0.2,proto=6),tcp(dst=80)"
    )


def test_match_of_a_tunnel_arp_and_vlan_key() -> None:
    tun = TunnelKey(tun_id=7, ipv4_src=ip4("192.0.2.1"), ipv4_dst=ip4("192.0.2.2"))
    key = FlowKey(
        in_port=1,
        tunnel=tun,
        eth=EthernetKey(M1, M2),
        vlan=VlanKey(0x1005),
        eth_type=0x0806,
        arp=ArpKey(ip4("10.0.0.1"), ip4("10.0.0.2"), 1, M1, 0),
    )
    mask = FlowMask.exact(key).replace(arp=ArpKey(tip=0xFFFFFFFF, sha=(1 << 48) - 1))
    text = match_str(key, mask)
    assert text.startswith("in_port(1),tunnel(tun_id=7,ipv4_src=192.0.2.1,ipv4_dst=192.0.2.2,")
    assert ",vlan(tci=4101),eth_type(0x0806)," in text
    assert text.endswith("arp(tip=10.0.0.2,sha=02:00:00:00:00:01)")


def test_actions_each_type() -> None:
    tun = TunnelKey(tun_id=9, ipv4_dst=ip4("192.0.2.9"), ttl=64)
    acts: list[Action] = [
        SetMasked(EthernetKey(M1, 0), full(EthernetKey)),
        SetMasked(Ipv4Key(ttl=63), Ipv4Key(ttl=0xFF)),
        SetTunnel(tun),
        Output(4),
    ]
    assert actions_str(acts) == (
        "set(eth(src=02:00:00:00:00:01,dst=00:00:00:00:00:00)),set(ipv4(ttl=63)),"
        "set(tunnel(id=9,dst=192.0.2.9,ttl=64)),output(4)"
    )
    assert actions_str([]) == "drop"
    assert action_str(SetField(TcpKey(1, 2))) == "set(TcpKey(src=1, dst=2))"
    named = [action_str(a) for a in (PushVlan(5), PopVlan(), Userspace(b"x"), Drop())]
    assert named == ["pushvlan", "popvlan", "userspace", "drop"]


def test_not_an_action_is_refused() -> None:
    with pytest.raises(TypeError):
        action_str(cast(Action, "output(1)"))
