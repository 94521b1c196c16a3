"""Flow keys: what a datapath matches on, one frozen value per protocol header.

The header classes mirror the kernel's OVS_KEY_ATTR_* structs (addresses are ints), so a key
converts to netlink attributes one header at a time; the same classes carry the values of
set/set_masked actions and, holding mask bits instead of values, make up a FlowMask.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from datapath.flow.addr import ip4_str, ip6_str, mac_str

# Ethernet types the datapath knows.
ETH_TYPE_IPV4 = 0x0800
ETH_TYPE_ARP = 0x0806
ETH_TYPE_RARP = 0x8035
ETH_TYPE_VLAN = 0x8100
ETH_TYPE_IPV6 = 0x86DD
ETH_TYPE_NONE = 0x05FF  # an 802.2 (length-field) frame: the kernel emits no ETHERTYPE for it

IPPROTO_ICMP = 1
IPPROTO_TCP = 6
IPPROTO_UDP = 17
IPPROTO_ICMPV6 = 58

FRAG_NONE = 0  # OVS_FRAG_TYPE_NONE
FRAG_FIRST = 1  # first fragment: L4 header present
FRAG_LATER = 2  # later fragment: no L4 header

# Tunnel flags (our own bit numbering; the kernel has one flag attribute per bit).
TUN_DONT_FRAGMENT = 0x1
TUN_CSUM = 0x2
TUN_OAM = 0x4

# TCP flags as in the TCP header's low 12 bits (the kernel's OVS_KEY_ATTR_TCP_FLAGS).
TCP_FIN = 0x01
TCP_SYN = 0x02
TCP_RST = 0x04
TCP_PSH = 0x08
TCP_ACK = 0x10
TCP_URG = 0x20

NO_PORT = 0xFFFFFFFF  # in_port of a packet that entered through no port (execute from userspace)


@dataclass(frozen=True, slots=True)
class TunnelKey:
    """Tunnel metadata: received with a decapsulated packet, or set before output to a tunnel."""

    tun_id: int = 0
    ipv4_src: int = 0
    ipv4_dst: int = 0
    tos: int = 0
    ttl: int = 0
    tp_src: int = 0
    tp_dst: int = 0
    flags: int = 0

    def __str__(self) -> str:
        return (
            f"tunnel(id={self.tun_id},src={ip4_str(self.ipv4_src)},dst={ip4_str(self.ipv4_dst)},"
            f"tos={self.tos},ttl={self.ttl},tp_src={self.tp_src},tp_dst={self.tp_dst},"
            f"flags={self.flags:#x})"
        )


@dataclass(frozen=True, slots=True)
class EthernetKey:
    """Ethernet addresses (48-bit ints)."""

    src: int = 0
    dst: int = 0

    def __str__(self) -> str:
        return f"eth(src={mac_str(self.src)},dst={mac_str(self.dst)})"


@dataclass(frozen=True, slots=True)
class VlanKey:
    """One 802.1Q tag: tci = pcp << 13 | dei << 12 | vid (TPID 0x8100)."""

    tci: int = 0

    @property
    def vid(self) -> int:
        return self.tci & 0x0FFF

    @property
    def pcp(self) -> int:
        return self.tci >> 13


@dataclass(frozen=True, slots=True)
class Ipv4Key:
    """IPv4 header fields the datapath matches and rewrites."""

    src: int = 0
    dst: int = 0
    proto: int = 0
    tos: int = 0
    ttl: int = 0
    frag: int = FRAG_NONE

    def __str__(self) -> str:
        return (
            f"ipv4(src={ip4_str(self.src)},dst={ip4_str(self.dst)},proto={self.proto},"
            f"tos={self.tos},ttl={self.ttl},frag={self.frag})"
        )


@dataclass(frozen=True, slots=True)
class Ipv6Key:
    """IPv6 header fields the datapath matches and rewrites."""

    src: int = 0
    dst: int = 0
    label: int = 0
    proto: int = 0
    tclass: int = 0
    hlimit: int = 0
    frag: int = FRAG_NONE

    def __str__(self) -> str:
        return (
            f"ipv6(src={ip6_str(self.src)},dst={ip6_str(self.dst)},label={self.label:#x},"
            f"proto={self.proto},tclass={self.tclass},hlimit={self.hlimit},frag={self.frag})"
        )


@dataclass(frozen=True, slots=True)
class TcpKey:
    """TCP ports."""

    src: int = 0
    dst: int = 0


@dataclass(frozen=True, slots=True)
class UdpKey:
    """UDP ports."""

    src: int = 0
    dst: int = 0


@dataclass(frozen=True, slots=True)
class IcmpKey:
    """ICMP type and code."""

    type: int = 0
    code: int = 0


@dataclass(frozen=True, slots=True)
class Icmpv6Key:
    """ICMPv6 type and code."""

    type: int = 0
    code: int = 0


@dataclass(frozen=True, slots=True)
class ArpKey:
    """ARP for IPv4 over Ethernet: addresses and opcode."""

    sip: int = 0
    tip: int = 0
    op: int = 0
    sha: int = 0
    tha: int = 0

    def __str__(self) -> str:
        return (
            f"arp(sip={ip4_str(self.sip)},tip={ip4_str(self.tip)},op={self.op},"
            f"sha={mac_str(self.sha)},tha={mac_str(self.tha)})"
        )


Header = (
    TunnelKey
    | EthernetKey
    | VlanKey
    | Ipv4Key
    | Ipv6Key
    | TcpKey
    | UdpKey
    | IcmpKey
    | Icmpv6Key
    | ArpKey
)


@dataclass(frozen=True, slots=True)
class FlowKey:
    """A packet's flow key: metadata plus one optional value per header, as the kernel extracts.

    A header that is None is absent from the packet (in a FlowMask: wildcarded). ``eth_type``
    is the type after any VLAN tag; ``tcp_flags`` is set only for TCP.
    """

    in_port: int = NO_PORT
    skb_mark: int = 0
    tunnel: TunnelKey | None = None
    eth: EthernetKey | None = None
    vlan: VlanKey | None = None
    eth_type: int = 0
    ipv4: Ipv4Key | None = None
    ipv6: Ipv6Key | None = None
    tcp: TcpKey | None = None
    udp: UdpKey | None = None
    icmp: IcmpKey | None = None
    icmpv6: Icmpv6Key | None = None
    arp: ArpKey | None = None
    tcp_flags: int = 0

    HEADERS: ClassVar[tuple[str, ...]] = (
        "tunnel",
        "eth",
        "vlan",
        "ipv4",
        "ipv6",
        "tcp",
        "udp",
        "icmp",
        "icmpv6",
        "arp",
    )

    def __str__(self) -> str:
        parts = [f"in_port={self.in_port}"]
        if self.skb_mark:
            parts.append(f"mark={self.skb_mark:#x}")
        for name in self.HEADERS:
            value = getattr(self, name)
            if value is not None:
                parts.append(str(value))
            if name == "vlan":
                parts.append(f"eth_type={self.eth_type:#06x}")
        if self.tcp is not None:
            parts.append(f"tcp_flags={self.tcp_flags:#x}")
        return ",".join(parts)
