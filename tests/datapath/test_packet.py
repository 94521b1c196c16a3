"""Packet parser and builders: known frames decode to the right keys; random bytes never crash."""

from __future__ import annotations

import struct

from hypothesis import given
from hypothesis import strategies as st

from datapath.flow.addr import ip4, ip6, mac
from datapath.flow.flat import flatten, unflatten
from datapath.flow.key import (
    ETH_TYPE_NONE,
    FRAG_FIRST,
    FRAG_LATER,
    ArpKey,
    EthernetKey,
    IcmpKey,
    Icmpv6Key,
    TcpKey,
    TunnelKey,
    UdpKey,
    VlanKey,
)
from datapath.packet import build
from datapath.packet.checksum import checksum, pseudo4
from datapath.packet.parse import PacketError, _extract, extract, parse_packet

A, B = mac("02:00:00:00:00:0a"), mac("02:00:00:00:00:0b")
IA, IB = ip4("10.1.0.1"), ip4("10.1.0.2")


def test_icmp_echo_key() -> None:
    frame = build.icmp_echo(A, B, IA, IB, 7, 1, b"hello")
    key = parse_packet(frame, in_port=3, skb_mark=9)
    assert key.in_port == 3 and key.skb_mark == 9
    assert key.eth == EthernetKey(A, B)
    assert key.eth_type == 0x0800
    assert key.ipv4 is not None and (key.ipv4.src, key.ipv4.dst, key.ipv4.proto) == (IA, IB, 1)
    assert key.ipv4.ttl == 64
    assert key.icmp == IcmpKey(8, 0)
    assert key.tcp is None and key.udp is None and key.tunnel is None


def test_tcp_and_udp_keys() -> None:
    syn = build.tcp_frame(A, B, IA, IB, 1234, 80, 0x02)
    key = parse_packet(syn)
    assert key.tcp == TcpKey(1234, 80) and key.tcp_flags == 0x02
    dgram = build.udp_frame(A, B, IA, IB, 5353, 53, b"q")
    key = parse_packet(dgram)
    assert key.udp == UdpKey(5353, 53) and key.tcp_flags == 0


def test_checksums_verify() -> None:
    dgram = build.udp_frame(A, B, IA, IB, 1, 2, b"abc")
    ip = dgram[14:34]
    assert checksum(ip) == 0
    seg = dgram[34:]
    assert checksum(seg, pseudo4(IA, IB, 17, len(seg))) == 0
    seg = build.tcp(IA, IB, 1, 2, 0x18, b"data!")
    assert checksum(seg, pseudo4(IA, IB, 6, len(seg))) == 0


def test_arp_request_and_reply() -> None:
    req = build.arp(1, A, IA, 0, IB)
    key = parse_packet(req)
    assert key.arp == ArpKey(IA, IB, 1, A, 0)
    assert key.eth is not None and key.eth.dst == build.BROADCAST
    reply = build.arp_reply(req, B)
    rkey = parse_packet(reply)
    assert rkey.arp == ArpKey(IB, IA, 2, B, A)
    assert rkey.eth == EthernetKey(B, A)


def test_echo_reply_and_error() -> None:
    req = build.icmp_echo(A, B, IA, IB, 7, 3, b"payload")
    reply = build.icmp_echo_reply(req)
    key = parse_packet(reply)
    assert key.ipv4 is not None and (key.ipv4.src, key.ipv4.dst) == (IB, IA)
    assert key.icmp == IcmpKey(0, 0)
    assert reply[-7:] == b"payload"
    assert checksum(reply[34:]) == 0
    err = build.icmp_error(req, build.ICMP_DEST_UNREACH, 1, ip4("10.1.0.254"), B)
    ekey = parse_packet(err)
    assert ekey.icmp == IcmpKey(3, 1)
    assert ekey.ipv4 is not None and ekey.ipv4.dst == IA
    assert err[34 + 8 : 34 + 28] == req[14:34]  # quotes the original IP header


def test_vlan_ipv6_icmpv6() -> None:
    s6, d6 = ip6("fd00::1"), ip6("fd00::2")
    msg = build.icmpv6(s6, d6, build.ICMPV6_ECHO_REQUEST, 0, b"\0\1\0\1")
    frame = build.ethernet(B, A, 0x86DD, build.ipv6(s6, d6, 58, msg, label=0x12345), 0x2005)
    key = parse_packet(frame)
    assert key.vlan == VlanKey(0x2005 | 0x1000)
    assert key.eth_type == 0x86DD
    assert key.ipv6 is not None and key.ipv6.label == 0x12345 and key.ipv6.src == s6
    assert key.icmpv6 == Icmpv6Key(128, 0)


def test_fragments() -> None:
    first = build.ethernet(
        B, A, 0x0800, build.ipv4(IA, IB, 17, b"\0" * 16, dont_fragment=False, more_fragments=True)
    )
    key = parse_packet(first)
    assert key.ipv4 is not None and key.ipv4.frag == FRAG_FIRST and key.udp is not None
    later = build.ethernet(B, A, 0x0800, build.ipv4(IA, IB, 17, b"\0" * 16, frag_offset=2))
    key = parse_packet(later)
    assert key.ipv4 is not None and key.ipv4.frag == FRAG_LATER
    assert key.udp is None  # as the kernel: no L4 key for a later fragment


def test_llc_and_truncated() -> None:
    llc = build.ethernet(B, A, 0x0026, b"\x42\x42\x03" + b"\0" * 40)
    assert parse_packet(llc).eth_type == ETH_TYPE_NONE
    short_ip = build.ethernet(B, A, 0x0800, b"\x45\0\0")
    key = parse_packet(short_ip)
    assert key.ipv4 is not None and key.ipv4.src == 0 and key.ipv4.proto == 0
    try:
        parse_packet(b"\0" * 13)
    except PacketError:
        pass
    else:
        raise AssertionError("13 bytes parsed as a frame")


def test_tunnel_metadata() -> None:
    tun = TunnelKey(42, IA, IB, 0, 64, 1000, 4789, 0)
    key = parse_packet(build.icmp_echo(A, B, IA, IB, 1, 1), in_port=2, tunnel=tun)
    assert key.tunnel == tun


@given(st.binary(min_size=14, max_size=200))
def test_parser_never_crashes_and_roundtrips(data: bytes) -> None:
    key = parse_packet(data, in_port=1)
    assert unflatten(flatten(key)) == key
    assert flatten(key) == extract(data, 1)


@given(
    st.sampled_from([0x0800, 0x86DD, 0x0806, 0x8100]),
    st.sampled_from([1, 6, 17, 58, 0, 44, 43]),
    st.binary(max_size=80),
)
def test_parser_structured_fuzz(eth_type: int, proto: int, tail: bytes) -> None:
    if eth_type == 0x0800:
        body = struct.pack("!BBHHHBB", 0x45, 0, 20 + len(tail), 0, 0, 64, proto) + b"\0" * 10
    elif eth_type == 0x86DD:
        body = struct.pack("!IHBB", 6 << 28, len(tail), proto, 64) + b"\1" * 32
    else:
        body = b""
    frame = build.ethernet(B, A, eth_type, body + tail)
    key = parse_packet(frame)
    assert unflatten(flatten(key)) == key


@given(
    st.sampled_from([1, 6, 17, 47]),
    st.integers(0, 0xFFFF),
    st.integers(0, 255),
    st.binary(max_size=40),
    st.sampled_from([0x45, 0x46, 0x55]),
)
def test_fast_path_equals_general_path(
    proto: int, frag: int, tos: int, tail: bytes, vihl: int
) -> None:
    header = struct.pack(
        "!BBHHHBBH4s4s",
        vihl,
        tos,
        20 + len(tail),
        1,
        frag,
        64,
        proto,
        0,
        b"\x0a\0\0\1",
        b"\x0a\0\0\2",
    )
    frame = build.ethernet(B, A, 0x0800, header + tail)
    assert extract(frame, 3, 4) == _extract(frame, 3, 4)
    tun = (1, 2, 3, 4, 5, 6, 7, 0)
    assert extract(frame, 3, 4, tun) == _extract(frame, 3, 4, tun)
