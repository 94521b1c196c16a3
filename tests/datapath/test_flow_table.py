"""FlowMask, the flat form, the tuple-space flow table and pure action execution."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from datapath.api import DatapathError
from datapath.flow import (
    Drop,
    EthernetKey,
    FlowKey,
    FlowMask,
    Ipv4Key,
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
)
from datapath.flow.addr import ip4, mac
from datapath.flow.flat import flatten
from datapath.flow.mask import full
from datapath.packet import build
from datapath.packet.checksum import checksum, pseudo4
from datapath.packet.parse import extract, parse_packet
from datapath.userspace.classifier import FlowTable
from datapath.userspace.execute import execute, validate

A, B = mac("02:00:00:00:00:0a"), mac("02:00:00:00:00:0b")
IA, IB, IC = ip4("10.1.0.1"), ip4("10.1.0.2"), ip4("10.1.0.3")


def _dst_mask() -> FlowMask:
    """Match in_port, eth_type and IPv4 destination only."""
    return FlowMask(
        in_port=0xFFFFFFFF, eth_type=0xFFFF, ipv4=Ipv4Key(dst=0xFFFFFFFF), eth=EthernetKey()
    )


def test_exact_mask_apply_is_identity() -> None:
    key = parse_packet(build.tcp_frame(A, B, IA, IB, 1, 2, 0x12), in_port=1)
    assert FlowMask.exact(key).apply(key) == key
    assert FlowMask.exact(key).tcp_flags == 0x0FFF


def test_megaflow_matches_many_microflows() -> None:
    table = FlowTable()
    key = parse_packet(build.tcp_frame(A, B, IA, IB, 1, 2, 0x02), in_port=1)
    table.install(b"u" * 16, key, _dst_mask(), [Output(2)])
    other = extract(build.udp_frame(B, A, IC, IB, 9, 9, b"x"), 1)
    found = table.lookup(other)
    assert found is not None and found.ufid == b"u" * 16
    assert table.lookup(extract(build.udp_frame(B, A, IC, IA, 9, 9, b"x"), 1)) is None
    assert table.lookup(extract(build.udp_frame(B, A, IC, IB, 9, 9, b"x"), 7)) is None  # in_port
    with pytest.raises(DatapathError):
        table.install(b"v" * 16, key, _dst_mask(), [Output(3)])
    table.install(b"v" * 16, key, _dst_mask(), [Output(3)], replace=True)
    assert len(table) == 1 and table.get(b"u" * 16) is None
    assert table.lookup(other) is not None and table.lookup(other).actions == (Output(3),)  # type: ignore[union-attr]
    table.delete(b"v" * 16)
    assert table.lookup(other) is None and table.masks == 0
    with pytest.raises(DatapathError):
        table.delete(b"v" * 16)


def test_two_masks_tuple_space() -> None:
    table = FlowTable()
    k1 = parse_packet(build.udp_frame(A, B, IA, IB, 1, 53, b""), in_port=1)
    m1 = FlowMask(
        in_port=0xFFFFFFFF, eth_type=0xFFFF, ipv4=Ipv4Key(proto=0xFF), udp=UdpKey(dst=0xFFFF)
    )
    k2 = parse_packet(build.tcp_frame(A, B, IA, IB, 1, 80, 2), in_port=1)
    table.install(b"1" * 16, k1, m1, [Output(5)])
    table.install(b"2" * 16, k2, FlowMask.exact(k2), [Output(6)])
    assert table.masks == 2
    hit = table.lookup(extract(build.udp_frame(B, B, IC, IC, 7, 53, b"zz"), 1))
    assert hit is not None and hit.ufid == b"1" * 16
    hit = table.lookup(extract(build.tcp_frame(A, B, IA, IB, 1, 80, 2), 1))
    assert hit is not None and hit.ufid == b"2" * 16
    assert table.lookup(extract(build.tcp_frame(A, B, IA, IB, 1, 80, 0x10), 1)) is None  # flags


@given(st.binary(min_size=14, max_size=120), st.integers(0, 7))
def test_exact_flow_matches_its_packet(data: bytes, port: int) -> None:
    table = FlowTable()
    key = parse_packet(data, in_port=port)
    table.install(b"x" * 16, key, FlowMask.exact(key), [Drop()])
    assert table.lookup(extract(data, port)) is not None
    assert table.lookup(flatten(key)) is not None


def test_execute_set_ipv4_and_ports_fixes_checksums() -> None:
    frame = build.udp_frame(A, B, IA, IB, 1000, 53, b"query")
    acts = [
        SetField(EthernetKey(B, A)),
        SetMasked(Ipv4Key(dst=IC, ttl=9), Ipv4Key(dst=0xFFFFFFFF, ttl=0xFF)),
        SetField(UdpKey(2000, 5353)),
        Output(4),
    ]
    validate(acts)
    (emit,) = execute(frame, acts)
    key = parse_packet(emit.frame)
    assert key.eth == EthernetKey(B, A)
    assert key.ipv4 is not None and (key.ipv4.src, key.ipv4.dst, key.ipv4.ttl) == (IA, IC, 9)
    assert key.udp == UdpKey(2000, 5353)
    out = emit.frame
    assert checksum(out[14:34]) == 0
    assert checksum(out[34:], pseudo4(IA, IC, 17, len(out) - 34)) == 0
    tcp = build.tcp_frame(A, B, IA, IB, 1, 2, 0x10, b"data")
    (emit,) = execute(tcp, [SetField(TcpKey(3, 4)), SetField(Ipv4Key(IC, IA, 6, 0, 5)), Output(1)])
    assert checksum(emit.frame[34:], pseudo4(IC, IA, 6, len(emit.frame) - 34)) == 0


def test_execute_vlan_tunnel_userspace_drop() -> None:
    frame = build.icmp_echo(A, B, IA, IB, 1, 1)
    tun = TunnelKey(tun_id=5, ipv4_dst=IC, ttl=64)
    emits = execute(frame, [PushVlan(tci=0x2064), Output(1), PopVlan(), SetTunnel(tun), Output(2)])
    assert parse_packet(emits[0].frame).vlan is not None
    assert parse_packet(emits[0].frame).vlan.vid == 0x064  # type: ignore[union-attr]
    assert emits[1].frame == frame and emits[1].tunnel == tun and emits[0].tunnel is None
    (up,) = execute(frame, [Userspace(b"cookie")])
    assert up.port is None and up.userdata == b"cookie"
    assert execute(frame, [Drop()]) == [] and execute(frame, []) == []


def test_validate_rejects_unsettable() -> None:
    from datapath.flow import IcmpKey

    with pytest.raises(DatapathError):
        validate([SetField(IcmpKey(1, 1))])
    with pytest.raises(DatapathError):
        validate([SetMasked(Ipv4Key(proto=6), Ipv4Key(proto=0xFF))])
    with pytest.raises(TypeError):
        SetMasked(TunnelKey(), TunnelKey())
    assert full(TcpKey) == TcpKey(0xFFFF, 0xFFFF)


def test_vlan_tag_always_matched_like_the_kernel() -> None:
    table = FlowTable()
    untagged = build.udp_frame(A, B, IA, IB, 1, 2, b"")
    tagged = build.ethernet(B, A, 0x0800, untagged[14:], vlan_tci=0x0064)
    table.install(b"1" * 16, FlowKey(in_port=1), FlowMask(in_port=0xFFFFFFFF), [Output(2)])
    assert table.lookup(extract(untagged, 1)) is not None
    assert table.lookup(extract(tagged, 1)) is None  # no VLAN in the flow: untagged only
    key = parse_packet(tagged, in_port=1)
    table.install(b"2" * 16, key, FlowMask(in_port=0xFFFFFFFF), [Output(3)])
    hit = table.lookup(extract(tagged, 1))
    assert hit is not None and hit.ufid == b"2" * 16
