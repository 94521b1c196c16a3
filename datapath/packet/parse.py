"""Pure packet parser: bytes -> flow key, following the kernel's flow extraction.

Truncated headers leave their fields zero (the kernel does the same) rather than failing: a
datapath must classify every frame it receives. Frames shorter than an Ethernet header raise
PacketError.
"""

from __future__ import annotations

import struct

from datapath.flow.flat import (
    L_ARP,
    L_ETH,
    L_ICMP,
    L_ICMPV6,
    L_IPV4,
    L_IPV6,
    L_TCP,
    L_TUN,
    L_UDP,
    L_VLAN,
    Flat,
    unflatten,
)
from datapath.flow.key import (
    ETH_TYPE_ARP,
    ETH_TYPE_IPV4,
    ETH_TYPE_IPV6,
    ETH_TYPE_NONE,
    ETH_TYPE_RARP,
    FRAG_FIRST,
    FRAG_LATER,
    FRAG_NONE,
    NO_PORT,
    FlowKey,
    TunnelKey,
)

_ETH = struct.Struct("!6s6sH")
_U16 = struct.Struct("!H")
_IPV4 = struct.Struct("!BBHHHBBH4s4s")
_PORTS = struct.Struct("!HH")
_ARP = struct.Struct("!HHBBH6s4s6s4s")
_NO_TUN = (0, 0, 0, 0, 0, 0, 0, 0)

_IPV6_EXT = frozenset((0, 43, 60))  # hop-by-hop, routing, destination options
_IPV6_FRAG = 44


class PacketError(ValueError):
    """The bytes are not a frame the datapath can classify."""


def tunnel_tuple(tunnel: TunnelKey | None) -> tuple[int, ...]:
    """The eight flat tunnel fields of a TunnelKey (zeros when there is none)."""
    if tunnel is None:
        return _NO_TUN
    t = tunnel
    return (t.tun_id, t.ipv4_src, t.ipv4_dst, t.tos, t.ttl, t.tp_src, t.tp_dst, t.flags)


_FAST = struct.Struct("!HIHIHBBHHHBBHII")  # untagged Ethernet + option-less IPv4 header
_FAST_L4 = {6: L_TCP, 17: L_UDP, 1: L_ICMP}


def extract(
    data: bytes | bytearray | memoryview,
    in_port: int = NO_PORT,
    skb_mark: int = 0,
    tunnel: tuple[int, ...] | None = None,
) -> Flat:
    """The flat key of a frame (see datapath.flow.flat for the layout).

    Untagged, unfragmented IPv4 TCP/UDP/ICMP with complete headers (the forwarding fast path)
    is decoded with one unpack; everything else takes the general path."""
    if len(data) >= 54:
        dh, dl, sh, sl, et, vihl, tos, _t, _i, fo, ttl, proto, _c, src, dst = _FAST.unpack_from(
            data, 0
        )
        if et == ETH_TYPE_IPV4 and vihl == 0x45 and not fo & 0x3FFF and proto in _FAST_L4:
            layers = L_ETH | L_IPV4 | _FAST_L4[proto]
            tcp_flags = 0
            if proto == 1:
                tp_src, tp_dst = data[34], data[35]
            else:
                tp_src, tp_dst = _PORTS.unpack_from(data, 34)
                if proto == 6:
                    if data[46] >> 4 < 5:
                        return _extract(data, in_port, skb_mark, tunnel)
                    tcp_flags = _U16.unpack_from(data, 46)[0] & 0x0FFF
            if tunnel is None:
                tunnel = _NO_TUN
            else:
                layers |= L_TUN
            return (
                layers,
                in_port,
                skb_mark,
                *tunnel,
                sh << 32 | sl,
                dh << 32 | dl,
                0,
                ETH_TYPE_IPV4,
                src,
                dst,
                proto,
                tos,
                ttl,
                FRAG_NONE,
                0,
                tp_src,
                tp_dst,
                tcp_flags,
                0,
                0,
            )
    return _extract(data, in_port, skb_mark, tunnel)


def _extract(
    data: bytes | bytearray | memoryview,
    in_port: int = NO_PORT,
    skb_mark: int = 0,
    tunnel: tuple[int, ...] | None = None,
) -> Flat:
    """The general extraction: every frame kind, truncations included."""
    n = len(data)
    if n < 14:
        raise PacketError(f"frame of {n} bytes is shorter than an Ethernet header")
    dst, src, eth_type = _ETH.unpack_from(data, 0)
    layers = L_ETH
    off = 14
    tci = 0
    if eth_type in (0x8100, 0x88A8) and n >= 18:
        layers |= L_VLAN
        tci = _U16.unpack_from(data, 14)[0] | 0x1000
        eth_type = _U16.unpack_from(data, 16)[0]
        off = 18
    if eth_type < 0x0600:
        eth_type = ETH_TYPE_NONE
    if tunnel is None:
        tunnel = _NO_TUN
    else:
        layers |= L_TUN
    ip_src = ip_dst = proto = tos = ttl = frag = label = 0
    tp_src = tp_dst = tcp_flags = sha = tha = 0
    l4 = -1
    if eth_type == ETH_TYPE_IPV4:
        layers |= L_IPV4
        if n - off >= 20:
            vihl, tos, _tot, _ident, frag_off, ttl, proto, _csum, s, d = _IPV4.unpack_from(
                data, off
            )
            ihl = (vihl & 0x0F) * 4
            if vihl >> 4 == 4 and ihl >= 20 and n - off >= ihl:
                ip_src = int.from_bytes(s, "big")
                ip_dst = int.from_bytes(d, "big")
                if frag_off & 0x1FFF:
                    frag = FRAG_LATER
                elif frag_off & 0x2000:
                    frag = FRAG_FIRST
                if frag != FRAG_LATER:
                    l4 = off + ihl
            else:
                tos = ttl = proto = 0
    elif eth_type == ETH_TYPE_IPV6:
        layers |= L_IPV6
        if n - off >= 40:
            first = int.from_bytes(data[off : off + 4], "big")
            tos = (first >> 20) & 0xFF
            label = first & 0xFFFFF
            proto = data[off + 6]
            ttl = data[off + 7]
            ip_src = int.from_bytes(data[off + 8 : off + 24], "big")
            ip_dst = int.from_bytes(data[off + 24 : off + 40], "big")
            p = off + 40
            while True:
                if proto in _IPV6_EXT:
                    if n - p < 8:
                        p = -1
                        break
                    proto, hlen = data[p], (data[p + 1] + 1) * 8
                    p += hlen
                elif proto == _IPV6_FRAG:
                    if n - p < 8:
                        p = -1
                        break
                    frag_off = _U16.unpack_from(data, p + 2)[0]
                    proto = data[p]
                    p += 8
                    if frag_off & 0xFFF8:
                        frag = FRAG_LATER
                        break
                    frag = FRAG_FIRST if frag_off & 1 else FRAG_NONE
                else:
                    break
            if frag != FRAG_LATER and 0 <= p <= n:
                l4 = p
    elif eth_type in (ETH_TYPE_ARP, ETH_TYPE_RARP):
        layers |= L_ARP
        if n - off >= 28:
            htype, ptype, hlen, plen, op, sh, sp, th, tp = _ARP.unpack_from(data, off)
            if htype == 1 and ptype == ETH_TYPE_IPV4 and hlen == 6 and plen == 4 and op <= 0xFF:
                proto = op
                ip_src = int.from_bytes(sp, "big")
                ip_dst = int.from_bytes(tp, "big")
                sha = int.from_bytes(sh, "big")
                tha = int.from_bytes(th, "big")
    if layers & (L_IPV4 | L_IPV6) and frag != FRAG_LATER:  # later fragments have no L4 key
        if proto == 6:
            layers |= L_TCP
            if l4 >= 0 and n - l4 >= 20 and (data[l4 + 12] >> 4) >= 5:
                tp_src, tp_dst = _PORTS.unpack_from(data, l4)
                tcp_flags = _U16.unpack_from(data, l4 + 12)[0] & 0x0FFF
        elif proto == 17:
            layers |= L_UDP
            if l4 >= 0 and n - l4 >= 8:
                tp_src, tp_dst = _PORTS.unpack_from(data, l4)
        elif proto == 1 and layers & L_IPV4:
            layers |= L_ICMP
            if l4 >= 0 and n - l4 >= 4:
                tp_src, tp_dst = data[l4], data[l4 + 1]
        elif proto == 58 and layers & L_IPV6:
            layers |= L_ICMPV6
            if l4 >= 0 and n - l4 >= 4:
                tp_src, tp_dst = data[l4], data[l4 + 1]
    return (
        layers,
        in_port,
        skb_mark,
        *tunnel,
        int.from_bytes(src, "big"),
        int.from_bytes(dst, "big"),
        tci,
        eth_type,
        ip_src,
        ip_dst,
        proto,
        tos,
        ttl,
        frag,
        label,
        tp_src,
        tp_dst,
        tcp_flags,
        sha,
        tha,
    )


def parse_packet(
    data: bytes | bytearray | memoryview,
    in_port: int = NO_PORT,
    skb_mark: int = 0,
    tunnel: TunnelKey | None = None,
) -> FlowKey:
    """The FlowKey of a frame received on ``in_port`` (with its tunnel metadata, if any)."""
    tun = None if tunnel is None else tunnel_tuple(tunnel)
    return unflatten(extract(data, in_port, skb_mark, tun))
