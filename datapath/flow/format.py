"""Flows as text, the way ovs-dpctl shows megaflows: the matched fields of a key under its mask
and a list of actions. Pure; dispatches on the flow value types (no attribute probing)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence

from datapath.flow.actions import (
    Action,
    Drop,
    Output,
    PopVlan,
    PushVlan,
    SetField,
    SetMasked,
    SetTunnel,
    Userspace,
)
from datapath.flow.addr import ip4_str, mac_str
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
from datapath.flow.mask import FlowMask

HEADER_NAMES: dict[type[Header], str] = {
    TunnelKey: "tunnel",
    EthernetKey: "eth",
    VlanKey: "vlan",
    Ipv4Key: "ipv4",
    Ipv6Key: "ipv6",
    TcpKey: "tcp",
    UdpKey: "udp",
    IcmpKey: "icmp",
    Icmpv6Key: "icmpv6",
    ArpKey: "arp",
}

# Fields shown as addresses rather than numbers, per header type.
_MAC_FIELDS: dict[type[Header], frozenset[str]] = {
    EthernetKey: frozenset(("src", "dst")),
    ArpKey: frozenset(("sha", "tha")),
}
_IP4_FIELDS: dict[type[Header], frozenset[str]] = {
    Ipv4Key: frozenset(("src", "dst")),
    ArpKey: frozenset(("sip", "tip")),
    TunnelKey: frozenset(("ipv4_src", "ipv4_dst")),
}
_NONE: frozenset[str] = frozenset()


def field_str(header: type[Header], name: str, value: int) -> str:
    """One header field's value: MACs and IPv4 addresses in their usual notation."""
    if name in _MAC_FIELDS.get(header, _NONE):
        return mac_str(value)
    if name in _IP4_FIELDS.get(header, _NONE):
        return ip4_str(value)
    return str(value)


def _fields(header: Header) -> Iterator[tuple[str, int]]:
    """(name, value) of every field of a header value, in declaration order."""
    for f in dataclasses.fields(header):
        value: int = getattr(header, f.name)
        yield f.name, value


def _set_fields(value: Header, mask: Header) -> str:
    """name=value of the fields of ``value`` whose mask bits are set."""
    kind = type(value)
    bits = dict(_fields(mask))
    return ",".join(f"{n}={field_str(kind, n, v)}" for n, v in _fields(value) if bits[n])


def headers(key: FlowKey | FlowMask) -> tuple[tuple[str, Header | None], ...]:
    """The header values of a key (or mask), in FlowKey.HEADERS order."""
    return (
        ("tunnel", key.tunnel),
        ("eth", key.eth),
        ("vlan", key.vlan),
        ("ipv4", key.ipv4),
        ("ipv6", key.ipv6),
        ("tcp", key.tcp),
        ("udp", key.udp),
        ("icmp", key.icmp),
        ("icmpv6", key.icmpv6),
        ("arp", key.arp),
    )


def action_str(action: Action) -> str:
    """One action in ovs-dpctl-like notation."""
    if isinstance(action, Output):
        return f"output({action.port})"
    if isinstance(action, SetTunnel):
        t = action.tunnel
        return f"set(tunnel(id={t.tun_id},dst={ip4_str(t.ipv4_dst)},ttl={t.ttl}))"
    if isinstance(action, SetMasked):
        name = HEADER_NAMES[type(action.header)]
        return f"set({name}({_set_fields(action.header, action.mask)}))"
    if isinstance(action, SetField):
        return f"set({action.header})"
    if isinstance(action, PushVlan):
        return "pushvlan"
    if isinstance(action, PopVlan):
        return "popvlan"
    if isinstance(action, Userspace):
        return "userspace"
    if isinstance(action, Drop):
        return "drop"
    raise TypeError(f"not a datapath action: {action!r}")


def actions_str(actions: Sequence[Action]) -> str:
    """A flow's actions, comma-separated; no actions is ``drop``."""
    if not actions:
        return "drop"
    return ",".join(action_str(a) for a in actions)


def match_str(key: FlowKey, mask: FlowMask) -> str:
    """The matched fields only (wildcarded fields left out), like ovs-dpctl's megaflows."""
    parts = [f"in_port({key.in_port})"]
    eth_type = f"eth_type({key.eth_type:#06x})"
    for (name, value), (_, m) in zip(headers(key), headers(mask), strict=True):
        if value is not None and m is not None:
            fields = _set_fields(value, m)
            if name == "vlan" or fields:
                parts.append(f"{name}({fields})")
        if name == "vlan" and key.vlan is not None:
            parts.append(eth_type)
    if key.vlan is None:
        parts.insert(2 if key.eth is not None else 1, eth_type)
    return ",".join(parts)
