"""Pure translation between the simulation's values and the datapath's flow values.

``packet_of`` reads a datapath FlowKey as a simulation Packet; ``translate`` turns a
SimulationResult into a FlowPlan (key, wildcard mask, actions, hard timeout, tags) that
respects the kernel's mask rules (see docs/agent.md); ``tunnel_flow`` is the egress host's
flow from the tunnel port to a local port, chosen by tunnel key alone.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from datapath.flow.actions import Action, Output, PopVlan, PushVlan, SetMasked, SetTunnel
from datapath.flow.key import (
    ETH_TYPE_ARP,
    ETH_TYPE_IPV4,
    FRAG_FIRST,
    FRAG_LATER,
    ArpKey,
    EthernetKey,
    FlowKey,
    IcmpKey,
    Ipv4Key,
    TcpKey,
    TunnelKey,
    UdpKey,
    VlanKey,
)
from datapath.flow.mask import FlowMask, mask_header
from services.simulation import packet as pk
from services.simulation.packet import FIELD_NAMES, Packet
from services.simulation.result import Decision, Egress, SimulationResult, Tag

NORMAL_TIMEOUT = 60.0  # hard timeout of a forwarding flow (MidoNet's default)
ERROR_TIMEOUT = 5.0  # hard timeout of drop and error flows
TUNNEL_TTL = 64
U32 = 0xFFFFFFFF
U16 = 0xFFFF
U8 = 0xFF
U48 = (1 << 48) - 1
U64 = (1 << 64) - 1
_FRAGS = {FRAG_FIRST: "first", FRAG_LATER: "later"}
_FRAG_OF = {"no": 0, "first": FRAG_FIRST, "later": FRAG_LATER}


class TranslationError(ValueError):
    """A result the datapath cannot express (e.g. a rewrite of an unsettable field)."""


@dataclass(frozen=True, slots=True)
class LocalView:
    """What translation needs of this host: its id, bound ports and peers' underlay."""

    host_id: str
    port_numbers: Mapping[str, int]  # virtual port id -> datapath port number (bound here)
    underlay: Mapping[str, int]  # host id -> underlay IPv4 address (int)
    tunnel_port: int | None  # datapath number of the VXLAN port
    tunnel_src: int = 0  # our own underlay address (0: let the stack choose)


@dataclass(frozen=True, slots=True)
class FlowPlan:
    """A flow to install: key, mask, actions, hard timeout, invalidation tags."""

    key: FlowKey
    mask: FlowMask
    actions: tuple[Action, ...]
    hard_timeout: float
    tags: frozenset[Tag]
    error: str | None = None  # why the flow drops when it drops for an error

    @property
    def drops(self) -> bool:
        return not self.actions


# --------------------------------------------------------------------------- key -> packet


def packet_of(key: FlowKey) -> Packet:
    """The simulation's view of a datapath flow key (absent headers are None)."""
    eth = key.eth or EthernetKey()
    fields: dict[str, Any] = {
        "eth_src": eth.src,
        "eth_dst": eth.dst,
        "ethertype": key.eth_type,
        "vlan": key.vlan.vid if key.vlan is not None else None,
    }
    v4 = key.ipv4
    if v4 is not None:
        fields.update(ip_src=v4.src, ip_dst=v4.dst, proto=v4.proto, ttl=v4.ttl)
        fields["fragment"] = _FRAGS.get(v4.frag, "no")
        if key.tcp is not None:
            fields.update(src_port=key.tcp.src, dst_port=key.tcp.dst)
        elif key.udp is not None:
            fields.update(src_port=key.udp.src, dst_port=key.udp.dst)
        elif key.icmp is not None:
            fields.update(icmp_type=key.icmp.type, icmp_code=key.icmp.code)
    elif key.arp is not None:
        a = key.arp
        fields.update(arp_op=a.op, arp_sha=a.sha, arp_spa=a.sip, arp_tha=a.tha, arp_tpa=a.tip)
    return Packet(**fields)


def key_of(packet: Packet, in_port: int) -> FlowKey:
    """The datapath key of a simulation Packet entering on `in_port` (packet_of's inverse)."""
    ipv4 = tcp = udp = icmp = arp = None
    if packet.ethertype == ETH_TYPE_IPV4 and packet.ip_src is not None:
        ipv4 = Ipv4Key(
            packet.ip_src,
            packet.ip_dst or 0,
            packet.proto or 0,
            0,
            packet.ttl or 0,
            _FRAG_OF.get(packet.fragment, 0),
        )
        if packet.fragment != "later":
            if packet.proto == pk.PROTO_TCP:
                tcp = TcpKey(packet.src_port or 0, packet.dst_port or 0)
            elif packet.proto == pk.PROTO_UDP:
                udp = UdpKey(packet.src_port or 0, packet.dst_port or 0)
            elif packet.proto == pk.PROTO_ICMP:
                icmp = IcmpKey(packet.icmp_type or 0, packet.icmp_code or 0)
    elif packet.ethertype == ETH_TYPE_ARP:
        arp = ArpKey(
            packet.arp_spa or 0,
            packet.arp_tpa or 0,
            packet.arp_op or 0,
            packet.arp_sha or 0,
            packet.arp_tha or 0,
        )
    return FlowKey(
        in_port=in_port,
        eth=EthernetKey(packet.eth_src, packet.eth_dst),
        vlan=VlanKey(packet.vlan) if packet.vlan is not None else None,
        eth_type=packet.ethertype,
        ipv4=ipv4,
        tcp=tcp,
        udp=udp,
        icmp=icmp,
        arp=arp,
    )


# --------------------------------------------------------------------------- mask


def flow_mask(sim_mask: int, key: FlowKey) -> FlowMask:
    """See _flow_mask; cached by (fields read, headers present): flows share few shapes."""
    shape = (
        key.vlan is not None,
        key.ipv4 is not None,
        key.tcp is not None,
        key.udp is not None,
        key.icmp is not None,
        key.arp is not None,
    )
    return _cached_mask(sim_mask, shape)


@functools.lru_cache(maxsize=4096)
def _cached_mask(sim_mask: int, shape: tuple[bool, ...]) -> FlowMask:
    vlan, ipv4, tcp, udp, icmp, arp = shape
    probe = FlowKey(
        vlan=VlanKey() if vlan else None,
        ipv4=Ipv4Key() if ipv4 else None,
        tcp=TcpKey() if tcp else None,
        udp=UdpKey() if udp else None,
        icmp=IcmpKey() if icmp else None,
        arp=ArpKey() if arp else None,
    )
    return _flow_mask(sim_mask, probe)


def _flow_mask(sim_mask: int, key: FlowKey) -> FlowMask:
    """The datapath mask of the fields the simulation read (bit i = FIELD_NAMES[i]).

    Kernel rules kept here: in_port and eth_type always exact; an IPv4/ARP mask only with an
    IPv4/ARP key; L4 masks only with the L4 key present and the IP proto exact; masks never
    name a header the key lacks. Widening a mask is never done: only narrowing (more exact).
    """

    def m(bit: int, full: int) -> int:
        return full if sim_mask & bit else 0

    eth = EthernetKey(m(pk.ETH_SRC, U48), m(pk.ETH_DST, U48))
    vlan = VlanKey(0x0FFF) if key.vlan is not None and sim_mask & pk.VLAN else None
    ipv4 = arp = tcp = udp = icmp = None
    tcp_flags = 0
    if key.ipv4 is not None:
        l4 = sim_mask & (pk.SRC_PORT | pk.DST_PORT | pk.ICMP_TYPE | pk.ICMP_CODE)
        proto = U8 if (sim_mask & pk.PROTO or l4) else 0
        ipv4 = Ipv4Key(
            src=m(pk.IP_SRC, U32),
            dst=m(pk.IP_DST, U32),
            proto=proto,
            ttl=m(pk.TTL, U8),
            frag=U8 if (sim_mask & pk.FRAGMENT or l4) else 0,
        )
        if key.tcp is not None and l4:
            tcp = TcpKey(m(pk.SRC_PORT, U16), m(pk.DST_PORT, U16))
        elif key.udp is not None and l4:
            udp = UdpKey(m(pk.SRC_PORT, U16), m(pk.DST_PORT, U16))
        elif key.icmp is not None and l4:
            icmp = IcmpKey(m(pk.ICMP_TYPE, U8), m(pk.ICMP_CODE, U8))
    elif key.arp is not None:
        arp = ArpKey(
            sip=m(pk.ARP_SPA, U32),
            tip=m(pk.ARP_TPA, U32),
            op=m(pk.ARP_OP, U16),
            sha=m(pk.ARP_SHA, U48),
            tha=m(pk.ARP_THA, U48),
        )
    return FlowMask(
        in_port=U32,
        eth=eth,
        vlan=vlan,
        eth_type=U16,
        ipv4=ipv4,
        tcp=tcp,
        udp=udp,
        icmp=icmp,
        arp=arp,
        tcp_flags=tcp_flags,
    )


# --------------------------------------------------------------------------- actions


_ETH = frozenset(("eth_src", "eth_dst"))
_IP = frozenset(("ip_src", "ip_dst", "ttl"))
_L4 = frozenset(("src_port", "dst_port"))
_SETTABLE = _ETH | _IP | _L4 | {"vlan"}


def _masked(value: Any, mask: Any) -> SetMasked:
    return SetMasked(mask_header(value, mask), mask)


def rewrite_actions(before: Packet, after: Packet) -> list[Action]:
    """Set-field actions that turn headers `before` into `after` (masked sets only; the
    values are pre-masked: the kernel refuses value bits outside the mask). Cached by what
    changed: the actions read only the changed fields' values (the others are masked out),
    the protocol and whether the IP header is there, so flows along one path share them."""
    if before == after:
        return []
    diff = tuple((i, b, a) for i, (b, a) in enumerate(zip(before, after, strict=True)) if a != b)
    no_ip = after.ip_src is None or after.ip_dst is None or after.ttl is None
    return list(_rewrites(diff, after.proto, no_ip))


@functools.lru_cache(maxsize=4096)
def _rewrites(
    diff: tuple[tuple[int, Any, Any], ...], proto: int | None, no_ip: bool
) -> tuple[Action, ...]:
    """rewrite_actions of one (changed fields, their old and new values) shape."""
    changed = {FIELD_NAMES[i] for i, _, _ in diff}
    old = {FIELD_NAMES[i]: b for i, b, _ in diff}
    new = {FIELD_NAMES[i]: a for i, _, a in diff}
    acts: list[Action] = []
    bad = changed - _SETTABLE
    if bad:
        raise TranslationError(f"the datapath cannot rewrite {min(bad)}")
    if "vlan" in changed:
        if old["vlan"] is not None:
            acts.append(PopVlan())
        if new["vlan"] is not None:
            acts.append(PushVlan(tci=new["vlan"]))
    if changed & _ETH:
        acts.append(
            _masked(
                EthernetKey(new.get("eth_src", 0), new.get("eth_dst", 0)),
                EthernetKey(U48 if "eth_src" in changed else 0, U48 if "eth_dst" in changed else 0),
            )
        )
    if changed & _IP:
        if no_ip:
            raise TranslationError("IP rewrite of a packet without IP")
        acts.append(
            _masked(
                Ipv4Key(src=new.get("ip_src", 0), dst=new.get("ip_dst", 0), ttl=new.get("ttl", 0)),
                Ipv4Key(
                    src=U32 if "ip_src" in changed else 0,
                    dst=U32 if "ip_dst" in changed else 0,
                    ttl=U8 if "ttl" in changed else 0,
                ),
            )
        )
    if changed & _L4:
        sp, dp = new.get("src_port") or 0, new.get("dst_port") or 0
        msk = (U16 if "src_port" in changed else 0, U16 if "dst_port" in changed else 0)
        if proto == pk.PROTO_TCP:
            acts.append(_masked(TcpKey(sp, dp), TcpKey(*msk)))
        elif proto == pk.PROTO_UDP:
            acts.append(_masked(UdpKey(sp, dp), UdpKey(*msk)))
        else:
            raise TranslationError("port rewrite of a packet without TCP/UDP")
    return tuple(acts)


def egress_actions(egress: Egress, local: LocalView) -> tuple[list[Action], Tag | None, str | None]:
    """Output actions for one egress (no rewrites): local output, or tunnel + output.

    Returns (actions, extra tag, error); an error leaves the actions empty.
    """
    host = egress.host_id
    if host == local.host_id:
        port_no = local.port_numbers.get(egress.port_id)
        if port_no is None:
            return [], ("binding", egress.port_id), f"port {egress.port_id} not bound here"
        return [Output(port_no)], None, None
    if host is None:
        return [], None, f"port {egress.port_id} has no host"
    tag: Tag = ("host", host)
    dst = local.underlay.get(host)
    if dst is None:
        return [], tag, f"host {host} unreachable (no underlay address)"
    if local.tunnel_port is None:
        return [], tag, "no tunnel port"
    if not egress.tunnel_key:
        return [], tag, f"port {egress.port_id} has no tunnel key"
    tunnel = TunnelKey(
        tun_id=egress.tunnel_key, ipv4_src=local.tunnel_src, ipv4_dst=dst, ttl=TUNNEL_TTL
    )
    return [SetTunnel(tunnel), Output(local.tunnel_port)], tag, None


def translate(result: SimulationResult, key: FlowKey, local: LocalView) -> FlowPlan | None:
    """The flow for `result` of the packet whose datapath key is `key`; None: install nothing.

    Forward -> rewrites + outputs (several for a flood); drop/reject -> empty actions with
    the error timeout; consumed (answered by the agent) and needs-ARP -> no flow.
    """
    if result.decision in (Decision.CONSUMED, Decision.NEEDS_ARP):
        return None
    mask = flow_mask(result.match.mask, key)
    if result.decision is not Decision.FORWARD:
        return FlowPlan(key, mask, (), ERROR_TIMEOUT, result.tags, None)
    actions: list[Action] = []
    errors: list[str] = []
    extra: list[Tag] = []  # egress tags; the result's tag set is reused when there are none
    current = result.packet if result.packet is not None else packet_of(key)
    outputs = False
    for egress in result.egress:
        outs, tag, error = egress_actions(egress, local)
        if tag is not None:
            extra.append(tag)
        if error is not None:
            errors.append(error)
            continue
        if egress.packet != current:
            actions += rewrite_actions(current, egress.packet)
        current = egress.packet
        actions += outs
        outputs = outputs or bool(outs)
    tags = result.tags.union(extra) if extra else result.tags
    if not outputs:
        return FlowPlan(key, mask, (), ERROR_TIMEOUT, tags, "; ".join(errors) or "no egress")
    # trailing rewrites after the last output are useless: they were never emitted
    return FlowPlan(key, mask, tuple(actions), NORMAL_TIMEOUT, tags, None)


# --------------------------------------------------------------------------- tunnel egress


def tunnel_flow(
    tunnel_port: int, tun_id: int, local_ip: int, out_port: int, eth_type: int
) -> tuple[FlowKey, FlowMask, tuple[Action, ...]]:
    """Egress host: packets on the tunnel port with id `tun_id` and `eth_type` -> out_port.

    The key carries a destination and a non-zero TTL (the kernel wants them in a tunnel
    key even when masked out); only in_port, tunnel id and eth_type are matched.
    """
    key = FlowKey(
        in_port=tunnel_port,
        tunnel=TunnelKey(tun_id=tun_id, ipv4_dst=local_ip, ttl=TUNNEL_TTL),
        eth=EthernetKey(),
        eth_type=eth_type,
        ipv4=Ipv4Key() if eth_type == ETH_TYPE_IPV4 else None,
        arp=ArpKey() if eth_type == ETH_TYPE_ARP else None,
    )
    mask = FlowMask(
        in_port=U32,
        tunnel=TunnelKey(tun_id=U64),
        eth=EthernetKey(),
        eth_type=U16,
    )
    return key, mask, (Output(out_port),)


def frag_value(fragment: str) -> int:
    """The datapath frag value of a simulation fragment name."""
    return _FRAG_OF[fragment]
