"""Flow masks: which bits of a FlowKey a megaflow matches.

A FlowMask has the FlowKey's shape; each header value holds mask bits instead of field values.
A header that is None is wholly wildcarded, so is an int field that is 0. ``exact(key)`` is the
mask of a microflow.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from datapath.flow.key import (
    ArpKey,
    EthernetKey,
    FlowKey,
    Header,
    IcmpKey,
    Icmpv6Key,
    Ipv4Key,
    Ipv6Key,
    TcpKey,
    TunnelKey,
    UdpKey,
    VlanKey,
)

# Width in bits of every header field; a full mask is (1 << width) - 1.
FIELD_BITS: dict[type, dict[str, int]] = {
    TunnelKey: {
        "tun_id": 64,
        "ipv4_src": 32,
        "ipv4_dst": 32,
        "tos": 8,
        "ttl": 8,
        "tp_src": 16,
        "tp_dst": 16,
        "flags": 3,
    },
    EthernetKey: {"src": 48, "dst": 48},
    VlanKey: {"tci": 16},
    Ipv4Key: {"src": 32, "dst": 32, "proto": 8, "tos": 8, "ttl": 8, "frag": 8},
    Ipv6Key: {
        "src": 128,
        "dst": 128,
        "label": 20,
        "proto": 8,
        "tclass": 8,
        "hlimit": 8,
        "frag": 8,
    },
    TcpKey: {"src": 16, "dst": 16},
    UdpKey: {"src": 16, "dst": 16},
    IcmpKey: {"type": 8, "code": 8},
    Icmpv6Key: {"type": 8, "code": 8},
    ArpKey: {"sip": 32, "tip": 32, "op": 16, "sha": 48, "tha": 48},
}


def full(header_type: type[Header]) -> Header:
    """The all-ones mask of one header type."""
    bits = FIELD_BITS[header_type]
    return header_type(**{name: (1 << width) - 1 for name, width in bits.items()})


def mask_header(value: Header, mask: Header) -> Header:
    """value & mask, field by field (both of the same header type)."""
    names = FIELD_BITS[type(value)]
    return type(value)(**{n: getattr(value, n) & getattr(mask, n) for n in names})


def _mask_int(value: int, mask: int) -> int:
    return value & mask


@dataclass(frozen=True, slots=True)
class FlowMask:
    """Mask bits for each FlowKey field; None headers and 0 ints are wildcards."""

    in_port: int = 0
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

    @classmethod
    def exact(cls, key: FlowKey) -> FlowMask:
        """The mask that matches every field present in ``key`` exactly."""
        headers: dict[str, Any] = {}
        for name in FlowKey.HEADERS:
            value = getattr(key, name)
            headers[name] = None if value is None else full(type(value))
        return cls(
            in_port=0xFFFFFFFF,
            skb_mark=0xFFFFFFFF,
            eth_type=0xFFFF,
            tcp_flags=0x0FFF if key.tcp is not None else 0,
            **headers,
        )

    def apply(self, key: FlowKey) -> FlowKey:
        """The key with every wildcarded bit cleared and wildcarded headers dropped."""
        headers: dict[str, Any] = {}
        for name in FlowKey.HEADERS:
            value = getattr(key, name)
            m = getattr(self, name)
            headers[name] = None if value is None or m is None else mask_header(value, m)
        return FlowKey(
            in_port=key.in_port & self.in_port,
            skb_mark=key.skb_mark & self.skb_mark,
            eth_type=key.eth_type & self.eth_type,
            tcp_flags=key.tcp_flags & self.tcp_flags,
            **headers,
        )

    def replace(self, **changes: Any) -> FlowMask:
        """A copy with some fields changed."""
        return dataclasses.replace(self, **changes)
