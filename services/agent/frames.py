"""Frames for the packets the agent generates (ARP replies and requests, ICMP echo replies and
errors): the simulation gives headers only, the bytes come from here (pure)."""

from __future__ import annotations

import struct

from datapath.packet import build
from services.simulation.packet import ETH_ARP, ETH_IPV4, PROTO_ICMP, Packet

ECHO_REPLY = 0
ECHO_REQUEST = 8


class FrameError(ValueError):
    """A generated packet the agent cannot put on the wire."""


def _l3(frame: bytes) -> int:
    """Offset of the L3 header (after one optional 802.1Q tag)."""
    return 18 if frame[12:14] == b"\x81\x00" else 14


def _ip_parts(frame: bytes) -> tuple[bytes, bytes]:
    """(IPv4 header, IPv4 payload) of an Ethernet frame."""
    off = _l3(frame)
    if len(frame) < off + 20 or frame[off - 2 : off] != b"\x08\x00":
        raise FrameError("original is not an IPv4 frame")
    ihl = (frame[off] & 0x0F) * 4
    total = int.from_bytes(frame[off + 2 : off + 4], "big")
    return frame[off : off + ihl], frame[off + ihl : off + max(total, ihl)]


def frame_for(packet: Packet, original: bytes) -> bytes:
    """The wire frame of generated `packet`; `original` is the frame that caused it."""
    vlan = packet.vlan
    if packet.ethertype == ETH_ARP:
        body = struct.pack(
            "!HHBBH6s4s6s4s",
            1,
            ETH_IPV4,
            6,
            4,
            packet.arp_op or 0,
            (packet.arp_sha or 0).to_bytes(6, "big"),
            (packet.arp_spa or 0).to_bytes(4, "big"),
            (packet.arp_tha or 0).to_bytes(6, "big"),
            (packet.arp_tpa or 0).to_bytes(4, "big"),
        )
        return build.ethernet(packet.eth_dst, packet.eth_src, ETH_ARP, body, vlan)
    if packet.ethertype == ETH_IPV4 and packet.proto == PROTO_ICMP:
        src, dst = packet.ip_src or 0, packet.ip_dst or 0
        header, payload = _ip_parts(original)
        if packet.icmp_type == ECHO_REPLY:
            if not payload or payload[0] != ECHO_REQUEST:
                raise FrameError("echo reply to something that is not an echo request")
            msg = build.icmp(ECHO_REPLY, 0, payload[4:])
        else:  # an error quotes the original IP header and 8 bytes of its data
            msg = build.icmp(
                packet.icmp_type or 0, packet.icmp_code or 0, bytes(4) + header + payload[:8]
            )
        ip = build.ipv4(src, dst, PROTO_ICMP, msg, ttl=packet.ttl or 64)
        return build.ethernet(packet.eth_dst, packet.eth_src, ETH_IPV4, ip, vlan)
    raise FrameError(f"cannot build a generated frame of ethertype {packet.ethertype:#06x}")
