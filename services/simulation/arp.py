"""ARP packets the agent builds: replies on behalf of known addresses, and requests."""

from __future__ import annotations

from services.simulation.packet import ARP_REPLY, ARP_REQUEST, ETH_ARP, Packet
from services.topology.addr import BROADCAST_MAC


def reply(request: Packet, mac: int, ip: int) -> Packet:
    """The reply to `request` saying `ip` is at `mac`."""
    return Packet(
        eth_src=mac,
        eth_dst=request.eth_src,
        ethertype=ETH_ARP,
        vlan=request.vlan,
        arp_op=ARP_REPLY,
        arp_sha=mac,
        arp_spa=ip,
        arp_tha=request.arp_sha,
        arp_tpa=request.arp_spa,
    )


def request(src_mac: int, src_ip: int, target_ip: int) -> Packet:
    """A broadcast who-has `target_ip` from (src_mac, src_ip)."""
    return Packet(
        eth_src=src_mac,
        eth_dst=BROADCAST_MAC,
        ethertype=ETH_ARP,
        arp_op=ARP_REQUEST,
        arp_sha=src_mac,
        arp_spa=src_ip,
        arp_tha=0,
        arp_tpa=target_ip,
    )
