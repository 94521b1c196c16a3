"""Packet builders: Ethernet, ARP, IPv4, IPv6, UDP, TCP and ICMP frames, with checksums.

The agent answers ARP and ICMP itself and the tests craft traffic with these; they are pure
functions of their arguments. Addresses are ints as in the flow values.
"""

from __future__ import annotations

import struct

from datapath.flow.key import ETH_TYPE_ARP, ETH_TYPE_IPV4, ETH_TYPE_IPV6
from datapath.packet.checksum import checksum, pseudo4, pseudo6

BROADCAST = 0xFFFFFFFFFFFF

ICMP_ECHO_REPLY = 0
ICMP_DEST_UNREACH = 3
ICMP_ECHO_REQUEST = 8
ICMP_TIME_EXCEEDED = 11
ICMPV6_ECHO_REQUEST = 128
ICMPV6_ECHO_REPLY = 129


def ethernet(
    dst: int, src: int, eth_type: int, payload: bytes, vlan_tci: int | None = None
) -> bytes:
    """An Ethernet frame (with one 802.1Q tag if ``vlan_tci`` is given)."""
    head = dst.to_bytes(6, "big") + src.to_bytes(6, "big")
    if vlan_tci is not None:
        head += struct.pack("!HH", 0x8100, vlan_tci & 0xFFFF)
    return head + struct.pack("!H", eth_type) + payload


def ipv4(
    src: int,
    dst: int,
    proto: int,
    payload: bytes,
    ttl: int = 64,
    tos: int = 0,
    ident: int = 0,
    dont_fragment: bool = True,
    frag_offset: int = 0,
    more_fragments: bool = False,
) -> bytes:
    """An IPv4 packet with a correct header checksum (no options)."""
    flags = (0x4000 if dont_fragment else 0) | (0x2000 if more_fragments else 0)
    header = struct.pack(
        "!BBHHHBBH4s4s",
        0x45,
        tos,
        20 + len(payload),
        ident,
        flags | (frag_offset & 0x1FFF),
        ttl,
        proto,
        0,
        src.to_bytes(4, "big"),
        dst.to_bytes(4, "big"),
    )
    csum = checksum(header)
    return header[:10] + struct.pack("!H", csum) + header[12:] + payload


def ipv6(
    src: int,
    dst: int,
    proto: int,
    payload: bytes,
    hlimit: int = 64,
    tclass: int = 0,
    label: int = 0,
) -> bytes:
    """An IPv6 packet (no extension headers)."""
    first = (6 << 28) | (tclass << 20) | (label & 0xFFFFF)
    return (
        struct.pack("!IHBB", first, len(payload), proto, hlimit)
        + src.to_bytes(16, "big")
        + dst.to_bytes(16, "big")
        + payload
    )


def _l4_sum(src: int, dst: int, proto: int, length: int, v6: bool) -> int:
    return pseudo6(src, dst, proto, length) if v6 else pseudo4(src, dst, proto, length)


def udp(src: int, dst: int, sport: int, dport: int, payload: bytes, v6: bool = False) -> bytes:
    """A UDP datagram whose checksum covers the IPv4 (or IPv6) pseudo-header of src/dst."""
    length = 8 + len(payload)
    seg = struct.pack("!HHHH", sport, dport, length, 0) + payload
    csum = checksum(seg, _l4_sum(src, dst, 17, length, v6)) or 0xFFFF
    return seg[:6] + struct.pack("!H", csum) + seg[8:]


def tcp(
    src: int,
    dst: int,
    sport: int,
    dport: int,
    flags: int,
    payload: bytes = b"",
    seq: int = 0,
    ack: int = 0,
    window: int = 65535,
    v6: bool = False,
) -> bytes:
    """A TCP segment (no options) with its checksum."""
    seg = struct.pack("!HHIIHHHH", sport, dport, seq, ack, (5 << 12) | flags, window, 0, 0)
    seg += payload
    csum = checksum(seg, _l4_sum(src, dst, 6, len(seg), v6))
    return seg[:16] + struct.pack("!H", csum) + seg[18:]


def icmp(type_: int, code: int, body: bytes) -> bytes:
    """An ICMP message: type, code, checksum, then ``body`` (rest of header and data)."""
    msg = struct.pack("!BBH", type_, code, 0) + body
    return msg[:2] + struct.pack("!H", checksum(msg)) + msg[4:]


def icmpv6(src: int, dst: int, type_: int, code: int, body: bytes) -> bytes:
    """An ICMPv6 message with its pseudo-header checksum."""
    msg = struct.pack("!BBH", type_, code, 0) + body
    csum = checksum(msg, pseudo6(src, dst, 58, len(msg)))
    return msg[:2] + struct.pack("!H", csum) + msg[4:]


def icmp_echo(
    src_mac: int,
    dst_mac: int,
    src: int,
    dst: int,
    ident: int,
    seq: int,
    payload: bytes = b"",
    request: bool = True,
    ttl: int = 64,
) -> bytes:
    """An Ethernet/IPv4 ICMP echo request (or reply)."""
    body = struct.pack("!HH", ident, seq) + payload
    msg = icmp(ICMP_ECHO_REQUEST if request else ICMP_ECHO_REPLY, 0, body)
    return ethernet(dst_mac, src_mac, ETH_TYPE_IPV4, ipv4(src, dst, 1, msg, ttl=ttl))


def udp_frame(
    src_mac: int, dst_mac: int, src: int, dst: int, sport: int, dport: int, payload: bytes
) -> bytes:
    """An Ethernet/IPv4/UDP frame."""
    seg = udp(src, dst, sport, dport, payload)
    return ethernet(dst_mac, src_mac, ETH_TYPE_IPV4, ipv4(src, dst, 17, seg))


def tcp_frame(
    src_mac: int,
    dst_mac: int,
    src: int,
    dst: int,
    sport: int,
    dport: int,
    flags: int,
    payload: bytes = b"",
) -> bytes:
    """An Ethernet/IPv4/TCP frame."""
    seg = tcp(src, dst, sport, dport, flags, payload)
    return ethernet(dst_mac, src_mac, ETH_TYPE_IPV4, ipv4(src, dst, 6, seg))


def arp(
    op: int,
    sha: int,
    sip: int,
    tha: int,
    tip: int,
    eth_dst: int | None = None,
    eth_src: int | None = None,
    vlan_tci: int | None = None,
) -> bytes:
    """An Ethernet ARP frame (request: op 1, broadcast by default; reply: op 2, to ``tha``);
    the Ethernet source is ``sha`` unless ``eth_src`` is given."""
    body = struct.pack(
        "!HHBBH6s4s6s4s",
        1,
        ETH_TYPE_IPV4,
        6,
        4,
        op,
        sha.to_bytes(6, "big"),
        sip.to_bytes(4, "big"),
        tha.to_bytes(6, "big"),
        tip.to_bytes(4, "big"),
    )
    if eth_dst is None:
        eth_dst = BROADCAST if op == 1 else tha
    return ethernet(eth_dst, sha if eth_src is None else eth_src, ETH_TYPE_ARP, body, vlan_tci)


def arp_reply(request: bytes, answer_mac: int) -> bytes:
    """The reply to an ARP request frame, answering its target IP with ``answer_mac``."""
    if len(request) < 42 or request[12:14] != b"\x08\x06":
        raise ValueError("not an Ethernet ARP frame")
    sha = int.from_bytes(request[22:28], "big")
    sip = int.from_bytes(request[28:32], "big")
    tip = int.from_bytes(request[38:42], "big")
    return arp(2, answer_mac, tip, sha, sip)


def ipv4_parts(frame: bytes) -> tuple[bytes, bytes]:
    """(IPv4 header, IPv4 payload) of an Ethernet/IPv4 frame (one 802.1Q tag allowed)."""
    off = 18 if frame[12:14] == b"\x81\x00" else 14
    if len(frame) < off + 20 or frame[off - 2 : off] != b"\x08\x00":
        raise ValueError("not an Ethernet/IPv4 frame")
    ihl = (frame[off] & 0x0F) * 4
    total = int.from_bytes(frame[off + 2 : off + 4], "big")
    return frame[off : off + ihl], frame[off + ihl : off + max(total, ihl)]


def _ipv4_payload(frame: bytes) -> tuple[bytes, bytes]:
    if len(frame) < 34 or frame[12:14] != b"\x08\x00":
        raise ValueError("not an untagged Ethernet/IPv4 frame")
    return ipv4_parts(frame)


def echo_reply_message(request_payload: bytes) -> bytes:
    """The ICMP echo reply message answering an echo request message (the IPv4 payload)."""
    if not request_payload or request_payload[0] != ICMP_ECHO_REQUEST:
        raise ValueError("not an ICMP echo request")
    return icmp(ICMP_ECHO_REPLY, 0, request_payload[4:])


def error_message(type_: int, code: int, header: bytes, payload: bytes, mtu: int = 0) -> bytes:
    """An ICMP error message quoting an IPv4 ``header`` and the first 8 bytes of its payload."""
    return icmp(type_, code, struct.pack("!HH", 0, mtu) + header + payload[:8])


def icmp_echo_reply(request: bytes) -> bytes:
    """The echo reply to an Ethernet/IPv4 ICMP echo request frame (addresses swapped)."""
    header, payload = _ipv4_payload(request)
    msg = echo_reply_message(payload)
    src = int.from_bytes(header[12:16], "big")
    dst = int.from_bytes(header[16:20], "big")
    eth_dst = int.from_bytes(request[6:12], "big")
    eth_src = int.from_bytes(request[0:6], "big")
    return ethernet(eth_dst, eth_src, ETH_TYPE_IPV4, ipv4(dst, src, 1, msg))


def icmp_error(
    original: bytes, type_: int, code: int, router_ip: int, router_mac: int, mtu: int = 0
) -> bytes:
    """An ICMP error (unreachable, time exceeded...) about an Ethernet/IPv4 frame, sent back to
    its source from ``router_ip``: it quotes the original IP header and 8 bytes of data."""
    header, payload = _ipv4_payload(original)
    src = int.from_bytes(header[12:16], "big")
    msg = error_message(type_, code, header, payload, mtu)
    eth_dst = int.from_bytes(original[6:12], "big")
    return ethernet(eth_dst, router_mac, ETH_TYPE_IPV4, ipv4(router_ip, src, 1, msg))


def ipv6_frame(src_mac: int, dst_mac: int, packet: bytes) -> bytes:
    """An Ethernet/IPv6 frame around an IPv6 packet."""
    return ethernet(dst_mac, src_mac, ETH_TYPE_IPV6, packet)
