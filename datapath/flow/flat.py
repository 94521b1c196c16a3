"""The flat form of keys and masks: one tuple of ints, used by the userspace classifier.

Masking a flat key is one ``map(and_, ...)``, which makes tuple-space search cheap. Layers
present are bits of field 0; ICMP type/code share the L4 port slots, ARP addresses and opcode
share the IP slots (as in Open vSwitch's struct flow).
"""

from __future__ import annotations

from typing import Any

from datapath.flow.key import (
    ArpKey,
    EthernetKey,
    FlowKey,
    IcmpKey,
    Icmpv6Key,
    Ipv4Key,
    Ipv6Key,
    TcpKey,
    TunnelKey,
    UdpKey,
    VlanKey,
)
from datapath.flow.mask import FlowMask

L_TUN = 0x001
L_ETH = 0x002
L_VLAN = 0x004
L_IPV4 = 0x008
L_IPV6 = 0x010
L_TCP = 0x020
L_UDP = 0x040
L_ICMP = 0x080
L_ICMPV6 = 0x100
L_ARP = 0x200

FIELDS = (
    "layers",
    "in_port",
    "skb_mark",
    "tun_id",
    "tun_src",
    "tun_dst",
    "tun_tos",
    "tun_ttl",
    "tun_tp_src",
    "tun_tp_dst",
    "tun_flags",
    "eth_src",
    "eth_dst",
    "vlan_tci",
    "eth_type",
    "ip_src",
    "ip_dst",
    "ip_proto",
    "ip_tos",
    "ip_ttl",
    "ip_frag",
    "ipv6_label",
    "tp_src",
    "tp_dst",
    "tcp_flags",
    "arp_sha",
    "arp_tha",
)
NFIELDS = len(FIELDS)
Flat = tuple[int, ...]

_TUN_EMPTY = (0, 0, 0, 0, 0, 0, 0, 0)


def _layers(obj: FlowKey | FlowMask) -> int:
    bits = 0
    for bit, header in (
        (L_TUN, obj.tunnel),
        (L_ETH, obj.eth),
        (L_VLAN, obj.vlan),
        (L_IPV4, obj.ipv4),
        (L_IPV6, obj.ipv6),
        (L_TCP, obj.tcp),
        (L_UDP, obj.udp),
        (L_ICMP, obj.icmp),
        (L_ICMPV6, obj.icmpv6),
        (L_ARP, obj.arp),
    ):
        if header is not None:
            bits |= bit
    return bits


def flatten(obj: FlowKey | FlowMask) -> Flat:
    """The flat tuple of a key (absent headers as zeros) or of a mask (wildcards as zeros)."""
    t = obj.tunnel
    tun = (
        _TUN_EMPTY
        if t is None
        else (t.tun_id, t.ipv4_src, t.ipv4_dst, t.tos, t.ttl, t.tp_src, t.tp_dst, t.flags)
    )
    eth_src = obj.eth.src if obj.eth else 0
    eth_dst = obj.eth.dst if obj.eth else 0
    tci = obj.vlan.tci if obj.vlan else 0
    ip_src = ip_dst = ip_proto = ip_tos = ip_ttl = ip_frag = label = 0
    arp_sha = arp_tha = 0
    if obj.ipv4 is not None:
        v4 = obj.ipv4
        ip_src, ip_dst, ip_proto, ip_tos, ip_ttl, ip_frag = (
            v4.src,
            v4.dst,
            v4.proto,
            v4.tos,
            v4.ttl,
            v4.frag,
        )
    elif obj.ipv6 is not None:
        v6 = obj.ipv6
        ip_src, ip_dst, ip_proto, ip_tos, ip_ttl, ip_frag, label = (
            v6.src,
            v6.dst,
            v6.proto,
            v6.tclass,
            v6.hlimit,
            v6.frag,
            v6.label,
        )
    elif obj.arp is not None:
        a = obj.arp
        ip_src, ip_dst, ip_proto, arp_sha, arp_tha = a.sip, a.tip, a.op, a.sha, a.tha
    tp_src = tp_dst = 0
    l4: Any = obj.tcp or obj.udp or obj.icmp or obj.icmpv6
    if isinstance(l4, (TcpKey, UdpKey)):
        tp_src, tp_dst = l4.src, l4.dst
    elif isinstance(l4, (IcmpKey, Icmpv6Key)):
        tp_src, tp_dst = l4.type, l4.code
    return (
        _layers(obj),
        obj.in_port,
        obj.skb_mark,
        *tun,
        eth_src,
        eth_dst,
        tci,
        obj.eth_type,
        ip_src,
        ip_dst,
        ip_proto,
        ip_tos,
        ip_ttl,
        ip_frag,
        label,
        tp_src,
        tp_dst,
        obj.tcp_flags,
        arp_sha,
        arp_tha,
    )


def unflatten(f: Flat) -> FlowKey:
    """The FlowKey of a flat key tuple (inverse of ``flatten`` for keys)."""
    layers = f[0]
    tunnel = TunnelKey(*f[3:11]) if layers & L_TUN else None
    eth = EthernetKey(f[11], f[12]) if layers & L_ETH else None
    vlan = VlanKey(f[13]) if layers & L_VLAN else None
    ipv4 = Ipv4Key(f[15], f[16], f[17], f[18], f[19], f[20]) if layers & L_IPV4 else None
    ipv6 = Ipv6Key(f[15], f[16], f[21], f[17], f[18], f[19], f[20]) if layers & L_IPV6 else None
    arp = ArpKey(f[15], f[16], f[17], f[25], f[26]) if layers & L_ARP else None
    return FlowKey(
        in_port=f[1],
        skb_mark=f[2],
        tunnel=tunnel,
        eth=eth,
        vlan=vlan,
        eth_type=f[14],
        ipv4=ipv4,
        ipv6=ipv6,
        tcp=TcpKey(f[22], f[23]) if layers & L_TCP else None,
        udp=UdpKey(f[22], f[23]) if layers & L_UDP else None,
        icmp=IcmpKey(f[22], f[23]) if layers & L_ICMP else None,
        icmpv6=Icmpv6Key(f[22], f[23]) if layers & L_ICMPV6 else None,
        arp=arp,
        tcp_flags=f[24],
    )
