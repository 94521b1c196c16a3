"""The virtual router: ARP and ping for its own addresses, LPM routing, ECMP, TTL, next hop.

Order inside a router: ARP for the ingress port's address; IPv4 addressed to the ingress
port's MAC only; inbound chain; local delivery (echo reply); TTL check;
route lookup (blackhole drops, reject answers admin-prohibited, no route answers net
unreachable); next-hop MAC resolution; TTL decrement and MAC rewrite; outbound chain.
"""

from __future__ import annotations

from services.simulation import arp, icmp
from services.simulation import packet as pk
from services.simulation.chain import run_chain
from services.simulation.context import Context
from services.simulation.packet import ARP_REPLY, ARP_REQUEST, ETH_ARP, ETH_IPV4, Packet
from services.simulation.result import ArpLearned, ArpWait, Decision, Emit
from services.simulation.verdicts import passes, reject
from services.topology.devices import Router
from services.topology.lpm import RouteEntry
from services.topology.port import Port

MAX_ARP_ATTEMPTS = 3  # unanswered ARP requests before the packet gets host unreachable
Out = list[tuple[Port, Packet]]


def process(ctx: Context, router: Router, in_port: Port, pkt: Packet) -> Out:
    """Route one packet that entered `router` through `in_port`; returns the egress port."""
    rid = router.id
    ctx.tags.add(("router", rid))
    if not router.admin_state_up:
        ctx.drop(rid, "router", "router is down")
        return []
    ctx.mask |= pk.ETHERTYPE
    if pkt.ethertype == ETH_ARP:
        _arp(ctx, rid, in_port, pkt)
        return []
    ctx.mask |= pk.IP_DST
    if pkt.ethertype != ETH_IPV4 or pkt.ip_dst is None:
        ctx.drop(rid, "router", "not IPv4")
        return []
    ctx.mask |= pk.ETH_DST
    if pkt.eth_dst != in_port.mac:  # never route L2 broadcast or multicast frames
        ctx.drop(rid, "router", "not addressed to the router port")
        return []
    verdict = run_chain(ctx, router.inbound_chain_id, pkt, in_port.id, None)
    if not passes(ctx, verdict, in_port, pkt, rid, "router", "router inbound"):
        return []
    topo = ctx.topo
    ctx.mask |= pk.IP_DST
    local = topo.router_addrs.get(rid, {}).get(pkt.ip_dst)
    if local is not None:
        _local(ctx, rid, in_port, pkt)
        return []
    ctx.mask |= pk.TTL
    if pkt.ttl is not None and pkt.ttl <= 1:
        reject(ctx, in_port, pkt, rid, "router", "ttl expired", icmp.TIME_EXCEEDED, 0)
        return []
    entry = _lookup(ctx, rid, pkt)
    if entry is None:
        reject(
            ctx, in_port, pkt, rid, "router", "no route", icmp.DEST_UNREACH, icmp.CODE_NET_UNREACH
        )
        return []
    if entry.kind == "blackhole":
        ctx.drop(rid, "router", "blackhole route")
        return []
    if entry.kind == "reject":
        reject(ctx, in_port, pkt, rid, "router", "reject route")
        return []
    out_port = topo.ports.get(entry.port_id or "")
    if out_port is None:
        ctx.drop(rid, "router", "route to a missing port")
        return []
    if entry.kind == "local":  # only reachable for the router's own addresses
        ctx.drop(rid, "router", "local address")
        return []
    next_hop = entry.gw if entry.gw is not None else pkt.ip_dst
    mac = _resolve(ctx, rid, out_port, next_hop)
    if mac is None:
        _unresolved(ctx, rid, in_port, out_port, next_hop, pkt)
        return []
    ctx.mask |= pk.ETH_SRC  # rewritten below: keep every written field in the match
    ttl = pkt.ttl - 1 if pkt.ttl is not None else None
    routed = pkt._replace(eth_src=out_port.mac, eth_dst=mac, ttl=ttl)
    ctx.hop(rid, "router", "route", entry.route_id, f"via {out_port.id}")
    verdict = run_chain(ctx, router.outbound_chain_id, routed, in_port.id, out_port.id)
    if not passes(ctx, verdict, in_port, pkt, rid, "router", "router outbound"):
        return []
    return [(out_port, routed)]


def _arp(ctx: Context, rid: str, in_port: Port, pkt: Packet) -> None:
    """Answer who-has for the ingress port's address; learn from replies sent to us."""
    ctx.mask |= pk.ARP_OP | pk.ARP_TPA
    addr = in_port.address.addr if in_port.address is not None else None
    if addr is None or pkt.arp_tpa != addr:
        ctx.drop(rid, "router", "arp not for this router port")
        return
    ctx.mask |= pk.ARP_SHA | pk.ARP_SPA | pk.ETH_SRC | pk.VLAN
    if pkt.arp_op == ARP_REQUEST:
        reply = arp.reply(pkt, in_port.mac, addr)
        ctx.generated.append(Emit(in_port.id, reply, "arp reply"))
        spa, sha = pkt.arp_spa, pkt.arp_sha
        if spa and sha is not None:  # the asker will be talked to: learn it (RFC 826)
            ctx.tags.add(("arp", rid, spa))
            if ctx.state.arp_mac(rid, spa) != sha:
                ctx.learned.append(ArpLearned(rid, spa, sha))
        ctx.hop(rid, "router", "arp_reply")
        ctx.end(Decision.CONSUMED, "arp request answered")
    elif pkt.arp_op == ARP_REPLY and pkt.arp_spa is not None and pkt.arp_sha is not None:
        ctx.learned.append(ArpLearned(rid, pkt.arp_spa, pkt.arp_sha))
        ctx.hop(rid, "router", "arp_learn")
        ctx.end(Decision.CONSUMED, "arp reply learned")
    else:
        ctx.drop(rid, "router", "unsupported arp operation")


def _local(ctx: Context, rid: str, in_port: Port, pkt: Packet) -> None:
    """Packets for the router's own addresses: answer pings, drop the rest."""
    ctx.mask |= pk.PROTO | pk.ICMP_TYPE | pk.IP_SRC | pk.ETH_SRC | pk.VLAN
    if pkt.proto == pk.PROTO_ICMP and pkt.icmp_type == icmp.ECHO_REQUEST and pkt.ip_src is not None:
        ctx.generated.append(Emit(in_port.id, icmp.echo_reply(pkt, in_port.mac), "echo reply"))
        ctx.hop(rid, "router", "echo_reply")
        ctx.end(Decision.CONSUMED, "echo request answered")
    else:
        ctx.drop(rid, "router", "addressed to the router, not a ping")


def _lookup(ctx: Context, rid: str, pkt: Packet) -> RouteEntry | None:
    """Longest-prefix match, then a deterministic ECMP choice by 5-tuple hash and weight."""
    table = ctx.topo.route_tables.get(rid)
    ctx.tags.add(("routes", rid))
    if table is None:
        return None
    src = 0
    if table.uses_src:
        ctx.mask |= pk.IP_SRC
        src = pkt.ip_src or 0
    entries = table.lookup(pkt.ip_dst or 0, src)
    if not entries:
        return None
    for e in entries:
        ctx.tags.add(e.tag)
    if len(entries) == 1:
        return entries[0]
    if _one_path(entries):  # e.g. a connected route plus an explicit one: the hash is moot
        return next((e for e in entries if e.route_id is not None), entries[0])
    ctx.mask |= pk.FIVE_TUPLE
    total = sum(e.weight for e in entries)
    point = flow_hash(pkt) % total
    for e in entries:
        if point < e.weight:
            return e
        point -= e.weight
    return entries[-1]


def _one_path(entries: tuple[RouteEntry, ...]) -> bool:
    """Whether every equal-cost entry leads the same way, so the 5-tuple need not be read."""
    first = entries[0]
    return all(
        e.kind == first.kind and e.port_id == first.port_id and e.gw == first.gw for e in entries
    )


def flow_hash(pkt: Packet) -> int:
    """A deterministic 32-bit hash of the 5-tuple (never Python's salted hash())."""
    h = 0x811C9DC5
    for v in (
        pkt.ip_src or 0,
        pkt.ip_dst or 0,
        pkt.proto or 0,
        pkt.src_port or 0,
        pkt.dst_port or 0,
    ):
        h = ((h ^ v) * 0x01000193) & 0xFFFFFFFF
        h ^= h >> 15
    return h


def _resolve(ctx: Context, rid: str, out_port: Port, ip: int) -> int | None:
    """Next-hop MAC: peer router port, else bridge-known address, else the ARP table."""
    topo = ctx.topo
    if out_port.peer_id is not None:
        peer = topo.ports.get(out_port.peer_id)
        ctx.tags.add(("port", out_port.peer_id))
        if peer is not None and peer.device_id in topo.routers:
            return peer.mac
        if peer is not None:
            ctx.tags.add(("ip", peer.device_id, ip))
            known = topo.bridge_ips.get((peer.device_id, ip))
            if known is not None:
                return known[0]
    ctx.tags.add(("arp", rid, ip))
    return ctx.state.arp_mac(rid, ip)


def _unresolved(
    ctx: Context, rid: str, in_port: Port, out_port: Port, ip: int, pkt: Packet
) -> None:
    """Ask the shell to ARP and retry, or after MAX_ARP_ATTEMPTS answer host unreachable."""
    attempts = ctx.state.arp_attempts(rid, ip)
    if attempts >= MAX_ARP_ATTEMPTS or out_port.address is None:
        reject(
            ctx,
            in_port,
            pkt,
            rid,
            "router",
            "next hop unresolved",
            icmp.DEST_UNREACH,
            icmp.CODE_HOST_UNREACH,
        )
        return
    request = arp.request(out_port.mac, out_port.address.addr, ip)
    ctx.generated.append(Emit(out_port.id, request, "arp request"))
    ctx.arp_wait = ArpWait(rid, ip, out_port.id)
    ctx.hop(rid, "router", "arp_wait", reason=f"attempt {attempts + 1} of {MAX_ARP_ATTEMPTS}")
    ctx.end(Decision.NEEDS_ARP, "next hop unresolved")
