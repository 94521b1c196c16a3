"""Conntrack keys as MidoNet's: the 5-tuple (the ICMP echo id in place of both ports) plus
the id of the device whose stateful chains saw the forward packet.

A forward packet writes :func:`forward_key`; a packet is a return packet on a device when
:func:`return_lookup_key` (its own tuple reversed) is in the conntrack table.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.simulation.packet import ETH_IPV4, PROTO_ICMP, PROTO_TCP, PROTO_UDP, Packet

ICMP_ECHO_REPLY = 0
ICMP_ECHO_REQUEST = 8
TRACKED_PROTOS = frozenset({PROTO_TCP, PROTO_UDP, PROTO_ICMP})
"""Protocols with sessions: TCP and UDP by ports, ICMP echo by its id."""


@dataclass(frozen=True, slots=True)
class FlowTuple:
    """Protocol, addresses (IPv4 as ints) and ports; for ICMP echo both ports hold the id."""

    proto: int
    src_ip: int
    src_port: int
    dst_ip: int
    dst_port: int

    def reversed(self) -> FlowTuple:
        """The tuple a reply to this packet carries (sources and destinations swapped)."""
        return FlowTuple(self.proto, self.dst_ip, self.dst_port, self.src_ip, self.src_port)


@dataclass(frozen=True, slots=True)
class ConnKey:
    """A conntrack entry's key: the forward packet's tuple as seen on ``device_id``."""

    device_id: str
    flow: FlowTuple

    def reversed(self) -> ConnKey:
        """The key of the same device with the tuple reversed."""
        return ConnKey(self.device_id, self.flow.reversed())


def flow_tuple(packet: Packet, icmp_id: int | None = None) -> FlowTuple | None:
    """The packet's tuple, or None for what has no session: not IPv4, a later fragment,
    another protocol, an ICMP message other than echo, or an echo whose id is unknown."""
    if packet.ethertype != ETH_IPV4 or packet.ip_src is None or packet.ip_dst is None:
        return None
    if packet.fragment == "later":
        return None
    proto = packet.proto
    if proto in (PROTO_TCP, PROTO_UDP):
        if packet.src_port is None or packet.dst_port is None:
            return None
        return FlowTuple(proto, packet.ip_src, packet.src_port, packet.ip_dst, packet.dst_port)
    if proto == PROTO_ICMP:
        if packet.icmp_type not in (ICMP_ECHO_REQUEST, ICMP_ECHO_REPLY) or icmp_id is None:
            return None
        return FlowTuple(proto, packet.ip_src, icmp_id, packet.ip_dst, icmp_id)
    return None


def forward_key(packet: Packet, device_id: str, icmp_id: int | None = None) -> ConnKey | None:
    """The key a forward packet writes on ``device_id`` (None: nothing to track)."""
    flow = flow_tuple(packet, icmp_id)
    return None if flow is None else ConnKey(device_id, flow)


def return_lookup_key(packet: Packet, device_id: str, icmp_id: int | None = None) -> ConnKey | None:
    """The key to look up to know whether ``packet`` returns on a tracked connection: the
    forward key its reply's forward packet wrote, i.e. its own tuple reversed."""
    flow = flow_tuple(packet, icmp_id)
    return None if flow is None else ConnKey(device_id, flow.reversed())
