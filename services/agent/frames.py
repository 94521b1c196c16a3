"""The wire frame of a packet the simulation generated (ARP reply or request, ICMP echo reply
or error): the simulation gives headers only; the bytes come from datapath.packet.build."""

from __future__ import annotations

from datapath.packet import build
from services.simulation.packet import ETH_ARP, ETH_IPV4, PROTO_ICMP, Packet


class FrameError(ValueError):
    """A generated packet the agent cannot put on the wire."""


def frame_for(packet: Packet, original: bytes) -> bytes:
    """The wire frame of generated `packet`; `original` is the frame that caused it."""
    if packet.ethertype == ETH_ARP:
        return build.arp(
            packet.arp_op or 0,
            packet.arp_sha or 0,
            packet.arp_spa or 0,
            packet.arp_tha or 0,
            packet.arp_tpa or 0,
            eth_dst=packet.eth_dst,
            eth_src=packet.eth_src,
            vlan_tci=packet.vlan,
        )
    if packet.ethertype == ETH_IPV4 and packet.proto == PROTO_ICMP:
        try:
            header, payload = build.ipv4_parts(original)
            if packet.icmp_type == build.ICMP_ECHO_REPLY:
                msg = build.echo_reply_message(payload)
            else:  # an error quotes the original IP header and 8 bytes of its data
                msg = build.error_message(
                    packet.icmp_type or 0, packet.icmp_code or 0, header, payload
                )
        except ValueError as exc:
            raise FrameError(f"cannot answer the original frame: {exc}") from exc
        ip = build.ipv4(
            packet.ip_src or 0, packet.ip_dst or 0, PROTO_ICMP, msg, ttl=packet.ttl or 64
        )
        return build.ethernet(packet.eth_dst, packet.eth_src, ETH_IPV4, ip, packet.vlan)
    raise FrameError(f"cannot build a generated frame of ethertype {packet.ethertype:#06x}")
