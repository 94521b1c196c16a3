"""The fast packer emits exactly the bytes pyroute2 emits from the same attribute tables."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from datapath.flow import (
    EthernetKey,
    FlowMask,
    Ipv4Key,
    Output,
    PushVlan,
    SetField,
    SetMasked,
    SetTunnel,
    TcpKey,
    TunnelKey,
    Userspace,
)
from datapath.flow.addr import ip4
from datapath.odp import attrs as A
from datapath.odp.convert import action_attrs, match_attrs, metadata_attrs
from datapath.odp.wire import pack_message
from datapath.packet.parse import parse_packet

ACTION_SETS: list[list[Any]] = [
    [Output(1)],
    [SetTunnel(TunnelKey(7, ip4("1.1.1.1"), ip4("2.2.2.2"), 0, 64, 0, 4789, 3)), Output(2)],
    [SetMasked(Ipv4Key(dst=5), Ipv4Key(dst=0xFF)), SetField(EthernetKey(1, 2)), Output(3)],
    [PushVlan(5), Userspace(b"odd"), SetField(TcpKey(1, 2))],
    [],
]


def pyroute2_bytes(cls: Any, family: int, flags: int, seq: int, cmd: int, attrs: Any) -> bytes:
    msg = cls()
    msg["header"]["type"] = family
    msg["header"]["flags"] = flags
    msg["header"]["sequence_number"] = seq
    msg["header"]["pid"] = 0
    msg["cmd"] = cmd
    msg["version"] = 1
    msg["reserved"] = 0
    msg["dp_ifindex"] = 7
    msg["attrs"] = attrs
    msg.encode()
    return bytes(msg.data)


@given(st.binary(min_size=14, max_size=120), st.sampled_from(ACTION_SETS), st.booleans())
def test_flow_new_matches_pyroute2(frame: bytes, actions: list[Any], exact: bool) -> None:
    key = parse_packet(frame, in_port=2, skb_mark=3)
    mask = None if exact else FlowMask(in_port=0xFFFFFFFF, eth=EthernetKey(0, 0xFFFF))
    k, m = match_attrs(key, mask)
    attrs = [
        ["OVS_FLOW_ATTR_KEY", {"attrs": k}],
        ["OVS_FLOW_ATTR_MASK", {"attrs": m}],
        ["OVS_FLOW_ATTR_ACTIONS", {"attrs": action_attrs(actions, 9)}],
        ["OVS_FLOW_ATTR_UFID", b"0123456789abcdef"],
        ["OVS_FLOW_ATTR_UFID_FLAGS", 7],
    ]
    fast = pack_message(A.ovs_flow_msg, 30, 0x605, 11, 1, 1, 7, attrs)
    assert fast == pyroute2_bytes(A.ovs_flow_msg, 30, 0x605, 11, 1, attrs)


def test_execute_matches_pyroute2() -> None:
    tun = TunnelKey(9, ip4("1.1.1.1"), ip4("2.2.2.2"), 4, 64, 1, 2, 1)
    attrs = [
        ["OVS_PACKET_ATTR_PACKET", b"\x01" * 61],
        ["OVS_PACKET_ATTR_KEY", {"attrs": metadata_attrs(3, 4, tun)}],
        ["OVS_PACKET_ATTR_ACTIONS", {"attrs": action_attrs([Output(1)], 9)}],
    ]
    fast = pack_message(A.ovs_packet_msg, 31, 5, 12, 3, 1, 7, attrs)
    assert fast == pyroute2_bytes(A.ovs_packet_msg, 31, 5, 12, 3, attrs)
