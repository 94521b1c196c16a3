"""ICMP packets the agent builds: echo replies and errors (never an error about an error)."""

from __future__ import annotations

from datapath.packet.build import ICMP_DEST_UNREACH as DEST_UNREACH
from datapath.packet.build import ICMP_ECHO_REPLY as ECHO_REPLY
from datapath.packet.build import ICMP_ECHO_REQUEST as ECHO_REQUEST
from datapath.packet.build import ICMP_TIME_EXCEEDED as TIME_EXCEEDED
from services.simulation import packet as pk
from services.simulation.context import Context
from services.simulation.packet import ETH_IPV4, PROTO_ICMP, Packet

__all__ = ["DEST_UNREACH", "ECHO_REPLY", "ECHO_REQUEST", "TIME_EXCEEDED", "echo_reply", "error"]

CODE_NET_UNREACH = 0
CODE_HOST_UNREACH = 1
CODE_ADMIN_PROHIBITED = 13
_QUERY_TYPES = frozenset({ECHO_REPLY, ECHO_REQUEST, 13, 14, 17, 18})


def echo_reply(request: Packet, mac: int) -> Packet:
    """Reply to an echo request addressed to (mac, request.ip_dst)."""
    return Packet(
        eth_src=mac,
        eth_dst=request.eth_src,
        ethertype=ETH_IPV4,
        vlan=request.vlan,
        ip_src=request.ip_dst,
        ip_dst=request.ip_src,
        proto=PROTO_ICMP,
        ttl=64,
        icmp_type=ECHO_REPLY,
        icmp_code=0,
    )


def error(
    ctx: Context, pkt: Packet, src_mac: int, src_ip: int | None, type_: int, code: int
) -> Packet | None:
    """An ICMP error about `pkt` from (src_mac, src_ip), or None when none may be sent.

    None for non-IPv4, non-first fragments and ICMP errors (RFC 1812 4.3.2.7); the fields
    that decide this join the flow match.
    """
    ctx.mask |= pk.ETHERTYPE | pk.IP_SRC | pk.IP_DST | pk.PROTO | pk.FRAGMENT | pk.ETH_SRC
    ctx.mask |= pk.ETH_DST | pk.VLAN  # copied into the error
    if pkt.ethertype != ETH_IPV4 or pkt.ip_src is None or pkt.fragment == "later":
        return None
    if src_ip is None:
        src_ip = pkt.ip_dst
    if src_ip is None:
        return None
    if pkt.proto == PROTO_ICMP:
        ctx.mask |= pk.ICMP_TYPE
        if pkt.icmp_type not in _QUERY_TYPES:
            return None
    return Packet(
        eth_src=src_mac,
        eth_dst=pkt.eth_src,
        ethertype=ETH_IPV4,
        vlan=pkt.vlan,
        ip_src=src_ip,
        ip_dst=pkt.ip_src,
        proto=PROTO_ICMP,
        ttl=64,
        icmp_type=type_,
        icmp_code=code,
    )
