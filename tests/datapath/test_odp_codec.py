"""The kernel backend's netlink codec, on the host: our values -> OVS attributes -> bytes ->
back, the kernel rules, and fuzzed decoders (bad input: DecodeError, a counter, a log line)."""

from __future__ import annotations

import contextlib
import logging
import struct
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from datapath.flow import (
    ArpKey,
    Drop,
    EthernetKey,
    FlowKey,
    FlowMask,
    Ipv4Key,
    Ipv6Key,
    Output,
    PopVlan,
    PushVlan,
    SetField,
    SetMasked,
    SetTunnel,
    TcpKey,
    TunnelKey,
    UdpKey,
    Userspace,
    VlanKey,
)
from datapath.flow.addr import ip4, ip6, mac
from datapath.odp import attrs as A
from datapath.odp import decode
from datapath.odp.convert import (
    DecodeError,
    action_attrs,
    decode_actions,
    decode_key,
    decode_mask,
    match_attrs,
)
from datapath.odp.rules import KernelRuleError, normalize_mask
from datapath.packet import build
from datapath.packet.parse import parse_packet

A1, B1 = mac("02:00:00:00:03:01"), mac("02:00:00:00:03:02")


def encode_flow(key_attrs: list[Any], mask_attrs: list[Any], acts: list[Any]) -> bytes:
    msg = A.ovs_flow_msg()
    msg["cmd"] = A.OVS_CMD_NEW
    msg["version"] = 1
    msg["dp_ifindex"] = 5
    msg["attrs"] = [
        ["OVS_FLOW_ATTR_KEY", {"attrs": key_attrs}],
        ["OVS_FLOW_ATTR_MASK", {"attrs": mask_attrs}],
        ["OVS_FLOW_ATTR_ACTIONS", {"attrs": acts}],
        ["OVS_FLOW_ATTR_UFID", b"u" * 16],
        ["OVS_FLOW_ATTR_STATS", {"n_packets": 3, "n_bytes": 300}],
        ["OVS_FLOW_ATTR_USED", 12345],
    ]
    msg.encode()
    return bytes(msg.data)


def roundtrip(key: FlowKey, mask: FlowMask | None, actions: list[Any]) -> Any:
    k, m = match_attrs(key, mask)
    return decode.flow_from_bytes(encode_flow(k, m, action_attrs(actions, 77)))


FRAMES = [
    build.icmp_echo(A1, B1, ip4("10.0.0.1"), ip4("10.0.0.2"), 1, 1, b"x"),
    build.tcp_frame(A1, B1, ip4("10.0.0.1"), ip4("10.0.0.2"), 1000, 80, 0x12),
    build.udp_frame(A1, B1, ip4("10.0.0.1"), ip4("10.0.0.2"), 53, 5353, b"q"),
    build.arp(1, A1, ip4("10.0.0.1"), 0, ip4("10.0.0.2")),
    build.ethernet(
        B1,
        A1,
        0x86DD,
        build.ipv6(
            ip6("fd00::1"),
            ip6("fd00::2"),
            17,
            build.udp(ip6("fd00::1"), ip6("fd00::2"), 1, 2, b"", v6=True),
        ),
    ),
    build.ethernet(
        B1, A1, 0x0800, build.ipv4(ip4("1.1.1.1"), ip4("2.2.2.2"), 6, b"\0" * 20), vlan_tci=0x0064
    ),
]


@pytest.mark.parametrize("frame", FRAMES)
def test_exact_key_roundtrips(frame: bytes) -> None:
    key = parse_packet(frame, in_port=3, skb_mark=9)
    flow = roundtrip(key, None, [Output(2)])
    assert flow.key == key
    assert flow.actions == (Output(2),)
    assert flow.stats.packets == 3 and flow.stats.used == 12.345
    exact = normalize_mask(key, FlowMask.exact(key))
    for name in FlowKey.HEADERS:
        assert getattr(flow.mask, name) == getattr(exact, name), name


def test_tunnel_key_needs_dst_and_gets_ttl() -> None:
    key = FlowKey(
        in_port=1,
        tunnel=TunnelKey(tun_id=9),
        eth=EthernetKey(A1, B1),
        eth_type=0x0800,
        ipv4=Ipv4Key(),
    )
    with pytest.raises(KernelRuleError, match="destination"):
        match_attrs(key, FlowMask(tunnel=TunnelKey(tun_id=0xFFFF)))
    key = FlowKey(
        in_port=1, tunnel=TunnelKey(tun_id=9, ipv4_dst=ip4("10.0.0.9")), eth=EthernetKey(A1, B1)
    )
    k, _m = match_attrs(key, FlowMask(in_port=0xFFFFFFFF, tunnel=TunnelKey(tun_id=(1 << 64) - 1)))
    tun = dict(k)["OVS_KEY_ATTR_TUNNEL"]["attrs"]
    assert ["OVS_TUNNEL_KEY_ATTR_TTL", 64] in tun  # non-zero TTL even though masked out
    assert ["OVS_TUNNEL_KEY_ATTR_IPV4_DST", ip4("10.0.0.9")] in tun


def test_mask_dependencies() -> None:
    key = parse_packet(FRAMES[1], in_port=1)
    m = normalize_mask(key, FlowMask(tcp=TcpKey(dst=0xFFFF), in_port=1))
    assert m.in_port == 0xFFFFFFFF and m.eth_type == 0xFFFF
    assert m.ipv4 is not None and m.ipv4.proto == 0xFF
    _k, mask_attrs = match_attrs(key, FlowMask(tcp_flags=0x02))
    names = [a[0] for a in mask_attrs]
    assert "OVS_KEY_ATTR_TCP_FLAGS" in names and "OVS_KEY_ATTR_ETHERTYPE" in names
    key_attrs, _m = match_attrs(key, FlowMask(in_port=0xFFFFFFFF))
    kn = [a[0] for a in key_attrs]
    assert "OVS_KEY_ATTR_ETHERTYPE" not in kn  # wildcarded ethertype: no L3 expected
    with pytest.raises(KernelRuleError):
        normalize_mask(FlowKey(in_port=1), FlowMask(udp=UdpKey(dst=1)))
    vlan_key = parse_packet(FRAMES[5])
    assert normalize_mask(vlan_key, FlowMask(vlan=VlanKey(0xFFF))).eth_type == 0xFFFF


ACTIONS: list[list[Any]] = [
    [Output(1)],
    [],
    [SetField(EthernetKey(A1, B1)), Output(3)],
    [SetMasked(Ipv4Key(dst=ip4("10.0.0.3"), ttl=4), Ipv4Key(dst=0xFFFFFFFF, ttl=0xFF)), Output(1)],
    [SetField(TcpKey(1, 2)), SetField(UdpKey(3, 4)), Output(1)],
    [SetField(Ipv6Key(ip6("fd00::3"), ip6("fd00::4"), 1, 58, 0, 9, 0)), Output(1)],
    [
        SetTunnel(
            TunnelKey(
                tun_id=7,
                ipv4_src=ip4("1.1.1.1"),
                ipv4_dst=ip4("2.2.2.2"),
                ttl=33,
                tp_dst=4790,
                flags=1,
            )
        ),
        Output(4),
    ],
    [PushVlan(0x2064), Output(1), PopVlan(), Output(2)],
    [Userspace(b"hello"), Userspace(b"", pid=99)],
]


@pytest.mark.parametrize("actions", ACTIONS)
def test_actions_roundtrip(actions: list[Any]) -> None:
    decoded = decode_actions({"attrs": _reencode(action_attrs(actions, 77))})
    expected = tuple(
        Userspace(a.userdata, 77 if a.pid is None else a.pid) if isinstance(a, Userspace) else a
        for a in actions
    )
    assert decoded == expected


def _reencode(acts: list[Any]) -> Any:
    raw = encode_flow([], [], acts)
    msg = A.ovs_flow_msg(raw)
    msg.decode()
    return [list(x) for x in msg.get_attr("OVS_FLOW_ATTR_ACTIONS")["attrs"]]


def test_drop_is_empty_and_alone() -> None:
    assert action_attrs([Drop()], 1) == []
    with pytest.raises(KernelRuleError):
        action_attrs([Drop(), Output(1)], 1)
    with pytest.raises(KernelRuleError):
        action_attrs([SetTunnel(TunnelKey(tun_id=1))], 1)


def upcall_bytes(
    cmd: int,
    packet: bytes,
    key_attrs: list[Any],
    userdata: bytes | None = None,
    unaligned: bool = True,
) -> bytes:
    msg = A.ovs_packet_msg()
    msg["cmd"] = cmd
    msg["version"] = 1
    msg["dp_ifindex"] = 5
    attrs: list[Any] = [["OVS_PACKET_ATTR_KEY", {"attrs": key_attrs}]]
    if userdata is not None:
        attrs.append(["OVS_PACKET_ATTR_USERDATA", userdata])
    msg["attrs"] = attrs
    msg.encode()
    head = bytes(msg.data)
    # PACKET last and unpadded, as the kernel writes it with OVS_DP_F_UNALIGNED
    nla = struct.pack("=HH", 4 + len(packet), 1) + packet
    if not unaligned:
        nla += b"\0" * (-len(nla) % 4)
    raw = head + nla
    return struct.pack("=I", len(raw)) + raw[4:]


def test_upcall_decodes_unaligned_packet() -> None:
    frame = FRAMES[0][:-1]  # odd length
    key = parse_packet(frame, in_port=2)
    k, _m = match_attrs(key, None)
    up = decode.upcall_from_bytes(upcall_bytes(A.OVS_PACKET_CMD_MISS, frame, k))
    assert up.packet == frame and up.key == key and up.userdata is None
    up = decode.upcall_from_bytes(
        upcall_bytes(A.OVS_PACKET_CMD_ACTION, frame, k, b"cookie", unaligned=False)
    )
    assert up.userdata == b"cookie" and up.kind.value == "action"


@given(st.binary(max_size=300))
def test_fuzz_upcall_decoder_raw(data: bytes) -> None:
    with contextlib.suppress(DecodeError):
        decode.upcall_from_bytes(data)


@given(st.data())
def test_fuzz_upcall_decoder_mutated(data: st.DataObject) -> None:
    key = parse_packet(data.draw(st.sampled_from(FRAMES)), in_port=1)
    k, _m = match_attrs(key, None)
    raw = bytearray(upcall_bytes(A.OVS_PACKET_CMD_MISS, FRAMES[0], k))
    for _ in range(data.draw(st.integers(1, 8))):
        i = data.draw(st.integers(0, len(raw) - 1))
        raw[i] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(raw)))
    with contextlib.suppress(DecodeError):
        decode.upcall_from_bytes(bytes(raw[:cut]) if data.draw(st.booleans()) else bytes(raw))


@given(st.data())
def test_fuzz_flow_decoder_mutated(data: st.DataObject) -> None:
    key = parse_packet(data.draw(st.sampled_from(FRAMES)), in_port=1)
    k, m = match_attrs(key, None)
    raw = bytearray(encode_flow(k, m, action_attrs([Output(1), Userspace(b"x")], 1)))
    for _ in range(data.draw(st.integers(1, 8))):
        i = data.draw(st.integers(0, len(raw) - 1))
        raw[i] = data.draw(st.integers(0, 255))
    with contextlib.suppress(DecodeError):
        decode.flow_from_bytes(bytes(raw))


def test_bad_upcall_counted_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    from datapath.odp.datapath import KernelDatapath

    dp = KernelDatapath.__new__(KernelDatapath)
    dp.name = "fuzz"
    dp.bad_messages = 0
    with caplog.at_level(logging.WARNING):
        assert dp.decode_upcall(b"\x10\x00\x00\x00garbage-garbage-garbage") is None
    assert dp.bad_messages == 1
    assert "undecodable upcall" in caplog.text


def test_decode_key_rejects_wrong_types() -> None:
    with pytest.raises(DecodeError):
        decode_key({"attrs": [("OVS_KEY_ATTR_ETHERNET", {"eth_src": b"12", "eth_dst": b"123456"})]})
    with pytest.raises(DecodeError):
        decode_key({"attrs": [("OVS_KEY_ATTR_IN_PORT", "x")]})
    with pytest.raises(DecodeError):
        decode_mask(None)
    assert decode_key(
        {
            "attrs": [
                (
                    "OVS_KEY_ATTR_ARP",
                    {
                        "arp_sip": 1,
                        "arp_tip": 2,
                        "arp_op": 1,
                        "arp_sha": b"\0" * 6,
                        "arp_tha": b"\0" * 6,
                    },
                )
            ]
        }
    ).arp == ArpKey(1, 2, 1)
