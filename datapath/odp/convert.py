"""The one place where our flow values meet OVS netlink attributes, in both directions.

Encoding applies the kernel's rules (datapath.odp.rules) first, so what we send is what the
kernel accepts. Decoding takes pyroute2-decoded nla objects and returns flow values; anything
malformed raises DecodeError (the caller counts and logs it).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

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
from datapath.flow.key import (
    ETH_TYPE_ARP,
    ETH_TYPE_IPV4,
    ETH_TYPE_IPV6,
    ETH_TYPE_NONE,
    ETH_TYPE_RARP,
    ETH_TYPE_VLAN,
    FRAG_LATER,
    NO_PORT,
    TUN_CSUM,
    TUN_DONT_FRAGMENT,
    TUN_OAM,
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
from datapath.odp.nlmsg import DecodeError as DecodeError  # raised by the decoders here
from datapath.odp.nlmsg import as_bytes_int as _bytes_int
from datapath.odp.nlmsg import as_dict
from datapath.odp.nlmsg import as_int as _int
from datapath.odp.nlmsg import attr_items as _items
from datapath.odp.nlmsg import field as _get
from datapath.odp.rules import KernelRuleError, normalize_mask

Attrs = list[list[Any]]
VLAN_CFI = 0x1000


def _mac(value: int) -> bytes:
    return value.to_bytes(6, "big")


# -- headers -> attributes ----------------------------------------------------------


def tunnel_attrs(t: TunnelKey, for_mask: bool = False) -> Attrs:
    """OVS_TUNNEL_KEY_ATTR_* of a tunnel key (or tunnel mask)."""
    attrs: Attrs = [["OVS_TUNNEL_KEY_ATTR_ID", t.tun_id]]
    if t.ipv4_src or for_mask:
        attrs.append(["OVS_TUNNEL_KEY_ATTR_IPV4_SRC", t.ipv4_src])
    attrs.append(["OVS_TUNNEL_KEY_ATTR_IPV4_DST", t.ipv4_dst])
    if t.tos or for_mask:
        attrs.append(["OVS_TUNNEL_KEY_ATTR_TOS", t.tos])
    attrs.append(["OVS_TUNNEL_KEY_ATTR_TTL", t.ttl])
    for bit, name in (
        (TUN_DONT_FRAGMENT, "OVS_TUNNEL_KEY_ATTR_DONT_FRAGMENT"),
        (TUN_CSUM, "OVS_TUNNEL_KEY_ATTR_CSUM"),
        (TUN_OAM, "OVS_TUNNEL_KEY_ATTR_OAM"),
    ):
        if t.flags & bit:
            attrs.append([name, True])
    if t.tp_src or for_mask:
        attrs.append(["OVS_TUNNEL_KEY_ATTR_TP_SRC", t.tp_src])
    if t.tp_dst or for_mask:
        attrs.append(["OVS_TUNNEL_KEY_ATTR_TP_DST", t.tp_dst])
    return attrs


def header_attr(h: Header) -> list[Any]:
    """[OVS_KEY_ATTR_x, value] of one header value (or header mask)."""
    if isinstance(h, EthernetKey):
        return ["OVS_KEY_ATTR_ETHERNET", {"eth_src": _mac(h.src), "eth_dst": _mac(h.dst)}]
    if isinstance(h, Ipv4Key):
        v4 = {
            "ipv4_src": h.src,
            "ipv4_dst": h.dst,
            "ipv4_proto": h.proto,
            "ipv4_tos": h.tos,
            "ipv4_ttl": h.ttl,
            "ipv4_frag": h.frag,
        }
        return ["OVS_KEY_ATTR_IPV4", v4]
    if isinstance(h, Ipv6Key):
        v6 = {
            "ipv6_src": h.src.to_bytes(16, "big"),
            "ipv6_dst": h.dst.to_bytes(16, "big"),
            "ipv6_label": h.label,
            "ipv6_proto": h.proto,
            "ipv6_tclass": h.tclass,
            "ipv6_hlimit": h.hlimit,
            "ipv6_frag": h.frag,
        }
        return ["OVS_KEY_ATTR_IPV6", v6]
    if isinstance(h, TcpKey):
        return ["OVS_KEY_ATTR_TCP", {"tcp_src": h.src, "tcp_dst": h.dst}]
    if isinstance(h, UdpKey):
        return ["OVS_KEY_ATTR_UDP", {"udp_src": h.src, "udp_dst": h.dst}]
    if isinstance(h, IcmpKey):
        return ["OVS_KEY_ATTR_ICMP", {"icmp_type": h.type, "icmp_code": h.code}]
    if isinstance(h, Icmpv6Key):
        return ["OVS_KEY_ATTR_ICMPV6", {"icmpv6_type": h.type, "icmpv6_code": h.code}]
    if isinstance(h, ArpKey):
        arp = {
            "arp_sip": h.sip,
            "arp_tip": h.tip,
            "arp_op": h.op,
            "arp_sha": _mac(h.sha),
            "arp_tha": _mac(h.tha),
        }
        return ["OVS_KEY_ATTR_ARP", arp]
    if isinstance(h, TunnelKey):
        return ["OVS_KEY_ATTR_TUNNEL", {"attrs": tunnel_attrs(h)}]
    if isinstance(h, VlanKey):
        return ["OVS_KEY_ATTR_VLAN", h.tci | VLAN_CFI]
    raise TypeError(f"not a header: {h!r}")


def _masked_header_attr(value: Header, mask: Header) -> list[Any]:
    name, v = header_attr(value)
    _, m = header_attr(mask)
    both = dict(v)
    both.update({f"{k}_mask": x for k, x in m.items()})
    return [name, both]


# -- match (key + mask) -> attributes -----------------------------------------------


def _l3_l4(key: FlowKey, mask: FlowMask, masked: FlowKey, for_mask: bool) -> Attrs:
    """ETHERTYPE and the L3/L4 attributes, for the key (``masked`` = mask.apply(key)) or for
    its mask."""
    src: Any = mask if for_mask else key
    eth_type = key.eth_type & mask.eth_type
    attrs: Attrs = []
    if mask.eth_type == 0 or eth_type == ETH_TYPE_NONE:
        return attrs  # wildcarded (or 802.2): no ETHERTYPE, no L3 and the kernel expects none
    attrs.append(["OVS_KEY_ATTR_ETHERTYPE", 0xFFFF if for_mask else eth_type])
    proto = frag = 0
    if eth_type == ETH_TYPE_IPV4:
        v4 = masked.ipv4 or Ipv4Key()
        proto, frag = v4.proto, v4.frag
        if for_mask:
            if mask.ipv4 is not None:
                attrs.append(header_attr(mask.ipv4))
        else:
            attrs.append(header_attr(v4))
    elif eth_type == ETH_TYPE_IPV6:
        v6 = masked.ipv6 or Ipv6Key()
        proto, frag = v6.proto, v6.frag
        if for_mask:
            if mask.ipv6 is not None:
                attrs.append(header_attr(mask.ipv6))
        else:
            attrs.append(header_attr(v6))
    elif eth_type in (ETH_TYPE_ARP, ETH_TYPE_RARP):
        arp = src.arp if for_mask else (masked.arp or ArpKey())
        if arp is not None:
            attrs.append(header_attr(arp))
        return attrs
    else:
        return attrs
    if frag == FRAG_LATER:
        return attrs
    is_v6 = eth_type == ETH_TYPE_IPV6
    l4: Header | None = None
    if proto == 6:
        l4 = mask.tcp if for_mask else (masked.tcp or TcpKey())
    elif proto == 17:
        l4 = mask.udp if for_mask else (masked.udp or UdpKey())
    elif proto == 1 and not is_v6:
        l4 = mask.icmp if for_mask else (masked.icmp or IcmpKey())
    elif proto == 58 and is_v6:
        l4 = mask.icmpv6 if for_mask else (masked.icmpv6 or Icmpv6Key())
    if l4 is not None:
        attrs.append(header_attr(l4))
    if proto == 6:
        if not for_mask:
            attrs.append(["OVS_KEY_ATTR_TCP_FLAGS", masked.tcp_flags])
        elif mask.tcp_flags:
            attrs.append(["OVS_KEY_ATTR_TCP_FLAGS", mask.tcp_flags])
    return attrs


def match_attrs(key: FlowKey, mask: FlowMask | None) -> tuple[Attrs, Attrs]:
    """(OVS_FLOW_ATTR_KEY attrs, OVS_FLOW_ATTR_MASK attrs) for a megaflow, kernel rules
    applied. Raises KernelRuleError for a match the kernel cannot express."""
    mask = normalize_mask(key, FlowMask.exact(key) if mask is None else mask)
    masked = mask.apply(key)
    k: Attrs = []
    m: Attrs = []
    if mask.in_port and key.in_port != NO_PORT:
        k.append(["OVS_KEY_ATTR_IN_PORT", key.in_port])
        m.append(["OVS_KEY_ATTR_IN_PORT", 0xFFFFFFFF])
    if mask.skb_mark:
        k.append(["OVS_KEY_ATTR_SKB_MARK", key.skb_mark & mask.skb_mark])
        m.append(["OVS_KEY_ATTR_SKB_MARK", mask.skb_mark])
    if key.tunnel is not None and mask.tunnel is not None:
        t, tm = key.tunnel, mask.tunnel
        if not t.ipv4_dst:
            raise KernelRuleError("a tunnel match needs the tunnel destination address (tun_dst)")
        value = TunnelKey(
            t.tun_id & tm.tun_id,
            t.ipv4_src & tm.ipv4_src,
            t.ipv4_dst,  # the kernel needs a non-zero dst and TTL even where masked out
            t.tos & tm.tos,
            t.ttl or 64,
            t.tp_src & tm.tp_src,
            t.tp_dst & tm.tp_dst,
            t.flags & tm.flags,
        )
        k.append(["OVS_KEY_ATTR_TUNNEL", {"attrs": tunnel_attrs(value)}])
        m.append(["OVS_KEY_ATTR_TUNNEL", {"attrs": tunnel_attrs(tm, for_mask=True)}])
    eth = key.eth or EthernetKey()
    k.append(
        header_attr(
            EthernetKey(eth.src & mask.eth.src, eth.dst & mask.eth.dst)
            if mask.eth
            else EthernetKey()
        )
    )
    if mask.eth is not None:
        m.append(header_attr(mask.eth))
    if key.vlan is not None:
        tci_mask = (mask.vlan.tci if mask.vlan else 0) | VLAN_CFI
        k.append(["OVS_KEY_ATTR_ETHERTYPE", ETH_TYPE_VLAN])
        k.append(["OVS_KEY_ATTR_VLAN", (key.vlan.tci & tci_mask) | VLAN_CFI])
        k.append(["OVS_KEY_ATTR_ENCAP", {"attrs": _l3_l4(key, mask, masked, False)}])
        m.append(["OVS_KEY_ATTR_ETHERTYPE", 0xFFFF])
        m.append(["OVS_KEY_ATTR_VLAN", tci_mask])
        m.append(["OVS_KEY_ATTR_ENCAP", {"attrs": _l3_l4(key, mask, masked, True)}])
    else:
        k.extend(_l3_l4(key, mask, masked, False))
        m.extend(_l3_l4(key, mask, masked, True))
    return k, m


def metadata_attrs(in_port: int, skb_mark: int, tunnel: TunnelKey | None) -> Attrs:
    """The KEY of an OVS_PACKET_CMD_EXECUTE: only metadata is used, the rest is parsed."""
    attrs: Attrs = []
    if in_port != NO_PORT:
        attrs.append(["OVS_KEY_ATTR_IN_PORT", in_port])
    attrs.append(["OVS_KEY_ATTR_SKB_MARK", skb_mark])
    if tunnel is not None:
        attrs.append(["OVS_KEY_ATTR_TUNNEL", {"attrs": tunnel_attrs(tunnel)}])
    return attrs


# -- actions -> attributes ----------------------------------------------------------


def action_attrs(actions: Sequence[Action], upcall_pid: int) -> Attrs:
    """OVS_ACTION_ATTR_* list; Drop becomes the empty list (the 6.1 kernel refuses DROP)."""
    attrs: Attrs = []
    for a in actions:
        if isinstance(a, Output):
            attrs.append(["OVS_ACTION_ATTR_OUTPUT", a.port])
        elif isinstance(a, SetTunnel):
            t = a.tunnel
            if not t.ipv4_dst:
                raise KernelRuleError("set(tunnel) needs a destination address")
            if not t.ttl:
                t = TunnelKey(
                    t.tun_id, t.ipv4_src, t.ipv4_dst, t.tos, 64, t.tp_src, t.tp_dst, t.flags
                )
            attrs.append(["OVS_ACTION_ATTR_SET", {"attrs": [header_attr(t)]}])
        elif isinstance(a, SetField):
            if isinstance(a.header, TunnelKey):
                attrs.extend(action_attrs([SetTunnel(a.header)], upcall_pid))
            else:
                attrs.append(["OVS_ACTION_ATTR_SET", {"attrs": [header_attr(a.header)]}])
        elif isinstance(a, SetMasked):
            both = _masked_header_attr(a.header, a.mask)
            attrs.append(["OVS_ACTION_ATTR_SET_MASKED", {"attrs": [both]}])
        elif isinstance(a, PushVlan):
            push = {"vlan_tpid": a.tpid, "vlan_tci": (a.tci & 0xFFFF) | VLAN_CFI}
            attrs.append(["OVS_ACTION_ATTR_PUSH_VLAN", push])
        elif isinstance(a, PopVlan):
            attrs.append(["OVS_ACTION_ATTR_POP_VLAN", True])
        elif isinstance(a, Userspace):
            pid = upcall_pid if a.pid is None else a.pid
            u: Attrs = [["OVS_USERSPACE_ATTR_PID", pid]]
            if a.userdata:
                u.append(["OVS_USERSPACE_ATTR_USERDATA", a.userdata])
            attrs.append(["OVS_ACTION_ATTR_USERSPACE", {"attrs": u}])
        elif isinstance(a, Drop):
            if len(actions) != 1:
                raise KernelRuleError("drop must be the only action")
        else:
            raise TypeError(f"not an action: {a!r}")
    return attrs


# -- attributes -> values -----------------------------------------------------------


def decode_tunnel(obj: object) -> TunnelKey:
    """A TunnelKey from a decoded OVS_KEY_ATTR_TUNNEL."""
    v: dict[str, int] = {}
    flags = 0
    for name, value in _items(obj):
        short = name.removeprefix("OVS_TUNNEL_KEY_ATTR_")
        if short == "DONT_FRAGMENT":
            flags |= TUN_DONT_FRAGMENT
        elif short == "CSUM":
            flags |= TUN_CSUM
        elif short == "OAM":
            flags |= TUN_OAM
        elif short in ("ID", "IPV4_SRC", "IPV4_DST", "TOS", "TTL", "TP_SRC", "TP_DST"):
            v[short] = _int(value)
    return TunnelKey(
        v.get("ID", 0),
        v.get("IPV4_SRC", 0),
        v.get("IPV4_DST", 0),
        v.get("TOS", 0),
        v.get("TTL", 0),
        v.get("TP_SRC", 0),
        v.get("TP_DST", 0),
        flags,
    )


def decode_header(name: str, value: object) -> Header:
    """One header value from a decoded OVS_KEY_ATTR_x (struct-typed attributes only)."""
    g = _get
    if name == "OVS_KEY_ATTR_ETHERNET":
        return EthernetKey(_bytes_int(g(value, "eth_src"), 6), _bytes_int(g(value, "eth_dst"), 6))
    if name == "OVS_KEY_ATTR_IPV4":
        return Ipv4Key(
            *(_int(g(value, f"ipv4_{f}")) for f in ("src", "dst", "proto", "tos", "ttl", "frag"))
        )
    if name == "OVS_KEY_ATTR_IPV6":
        return Ipv6Key(
            _bytes_int(g(value, "ipv6_src"), 16),
            _bytes_int(g(value, "ipv6_dst"), 16),
            _int(g(value, "ipv6_label")),
            _int(g(value, "ipv6_proto")),
            _int(g(value, "ipv6_tclass")),
            _int(g(value, "ipv6_hlimit")),
            _int(g(value, "ipv6_frag")),
        )
    if name == "OVS_KEY_ATTR_TCP":
        return TcpKey(_int(g(value, "tcp_src")), _int(g(value, "tcp_dst")))
    if name == "OVS_KEY_ATTR_UDP":
        return UdpKey(_int(g(value, "udp_src")), _int(g(value, "udp_dst")))
    if name == "OVS_KEY_ATTR_ICMP":
        return IcmpKey(_int(g(value, "icmp_type")), _int(g(value, "icmp_code")))
    if name == "OVS_KEY_ATTR_ICMPV6":
        return Icmpv6Key(_int(g(value, "icmpv6_type")), _int(g(value, "icmpv6_code")))
    if name == "OVS_KEY_ATTR_ARP":
        return ArpKey(
            _int(g(value, "arp_sip")),
            _int(g(value, "arp_tip")),
            _int(g(value, "arp_op")),
            _bytes_int(g(value, "arp_sha"), 6),
            _bytes_int(g(value, "arp_tha"), 6),
        )
    if name == "OVS_KEY_ATTR_TUNNEL":
        return decode_tunnel(value)
    raise DecodeError(f"{name} is not a header attribute")


_FIELD = {
    "OVS_KEY_ATTR_ETHERNET": "eth",
    "OVS_KEY_ATTR_IPV4": "ipv4",
    "OVS_KEY_ATTR_IPV6": "ipv6",
    "OVS_KEY_ATTR_TCP": "tcp",
    "OVS_KEY_ATTR_UDP": "udp",
    "OVS_KEY_ATTR_ICMP": "icmp",
    "OVS_KEY_ATTR_ICMPV6": "icmpv6",
    "OVS_KEY_ATTR_ARP": "arp",
    "OVS_KEY_ATTR_TUNNEL": "tunnel",
}


def _collect(obj: object, out: dict[str, Any], is_mask: bool) -> None:
    for name, value in _items(obj):
        if name in _FIELD:
            out[_FIELD[name]] = decode_header(name, value)
        elif name == "OVS_KEY_ATTR_IN_PORT":
            out["in_port"] = _int(value)
        elif name == "OVS_KEY_ATTR_SKB_MARK":
            out["skb_mark"] = _int(value)
        elif name == "OVS_KEY_ATTR_ETHERTYPE":
            out["eth_type"] = _int(value)
        elif name == "OVS_KEY_ATTR_TCP_FLAGS":
            out["tcp_flags"] = _int(value)
        elif name == "OVS_KEY_ATTR_VLAN":
            tci = _int(value)
            out["vlan"] = VlanKey(tci)
        elif name == "OVS_KEY_ATTR_ENCAP":
            inner: dict[str, Any] = {}
            _collect(value, inner, is_mask)
            out.update(inner)
            if "eth_type" not in inner:
                out["eth_type"] = 0 if is_mask else ETH_TYPE_NONE
        # other attributes (recirc id, dp hash, conntrack, ND...) are not part of our keys


def decode_key(obj: object) -> FlowKey:
    """A FlowKey from a decoded OVS_FLOW_ATTR_KEY / OVS_PACKET_ATTR_KEY."""
    out: dict[str, Any] = {}
    _collect(obj, out, False)
    out.setdefault("eth_type", ETH_TYPE_NONE if "eth" in out else 0)
    if out.get("vlan") is not None and out["vlan"].tci & VLAN_CFI == 0:
        del out["vlan"]  # a VLAN attribute without the present bit means "no tag"
    if "tcp" not in out:
        out.pop("tcp_flags", None)
    return FlowKey(**out)


def decode_mask(obj: object) -> FlowMask:
    """A FlowMask from a decoded OVS_FLOW_ATTR_MASK; all-zero header masks become None."""
    out: dict[str, Any] = {}
    _collect(obj, out, True)
    for name in FlowKey.HEADERS:
        h = out.get(name)
        if h is not None and not any(getattr(h, f) for f in h.__dataclass_fields__):
            del out[name]
    return FlowMask(**out)


def decode_actions(obj: object) -> tuple[Action, ...]:
    """Our actions from a decoded OVS_FLOW_ATTR_ACTIONS (empty: drop)."""
    actions: list[Action] = []
    for name, value in _items(obj):
        if name == "OVS_ACTION_ATTR_OUTPUT":
            actions.append(Output(_int(value)))
        elif name == "OVS_ACTION_ATTR_SET":
            ((hname, hvalue),) = _items(value) or [("", None)]
            header = decode_header(hname, hvalue) if hname != "OVS_KEY_ATTR_VLAN" else None
            if header is None:
                raise DecodeError("unsupported set action")
            actions.append(SetTunnel(header) if isinstance(header, TunnelKey) else SetField(header))
        elif name == "OVS_ACTION_ATTR_SET_MASKED":
            items = _items(value)
            if len(items) != 1:
                raise DecodeError("set_masked must carry one attribute")
            hname, hvalue = items[0]
            both = as_dict(hvalue)
            plain = {k: v for k, v in both.items() if not k.endswith("_mask")}
            masks = {k[: -len("_mask")]: v for k, v in both.items() if k.endswith("_mask")}
            actions.append(SetMasked(decode_header(hname, plain), decode_header(hname, masks)))
        elif name == "OVS_ACTION_ATTR_PUSH_VLAN":
            tci = _int(_get(value, "vlan_tci"))
            actions.append(PushVlan(tci & ~VLAN_CFI, _int(_get(value, "vlan_tpid"))))
        elif name == "OVS_ACTION_ATTR_POP_VLAN":
            actions.append(PopVlan())
        elif name == "OVS_ACTION_ATTR_USERSPACE":
            fields = dict(_items(value))
            data = fields.get("OVS_USERSPACE_ATTR_USERDATA", b"")
            if not isinstance(data, bytes | bytearray):
                raise DecodeError("userspace userdata is not bytes")
            pid = fields.get("OVS_USERSPACE_ATTR_PID")
            actions.append(Userspace(bytes(data), None if pid is None else _int(pid)))
        elif name == "OVS_ACTION_ATTR_DROP":
            actions.append(Drop())
        else:
            raise DecodeError(f"action {name} is not one of ours")
    return tuple(actions)
