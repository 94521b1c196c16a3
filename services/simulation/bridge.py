"""The virtual bridge: local ARP answers, MAC learning per (bridge, VLAN), forward or flood.

Order inside a bridge: inbound chain, ARP answer, learning, MAC lookup, then for each
egress port the bridge's outbound chain. A port's configured MAC is a static entry; the
learned table (a StateView) holds the rest. VLAN: an access port (vlan set) puts frames in
its VLAN and strips the tag on output; a trunk port (vlan None) keeps the frame's tag.
"""

from __future__ import annotations

from services.simulation import arp
from services.simulation import packet as pk
from services.simulation.chain import run_chain
from services.simulation.context import Context
from services.simulation.packet import ARP_REQUEST, ETH_ARP, Packet
from services.simulation.result import Decision, Emit, MacLearned
from services.simulation.verdicts import passes
from services.topology.devices import Bridge
from services.topology.port import Port

Out = list[tuple[Port, Packet]]


def process(ctx: Context, bridge: Bridge, in_port: Port, pkt: Packet) -> Out:
    """Switch one frame that entered `bridge` through `in_port`; returns the egress ports."""
    bid = bridge.id
    ctx.tags.add(("bridge", bid))
    if not bridge.admin_state_up:
        ctx.drop(bid, "bridge", "bridge is down")
        return []
    verdict = run_chain(ctx, bridge.inbound_chain_id, pkt, in_port.id, None)
    if not passes(ctx, verdict, in_port, pkt, bid, "bridge", "bridge inbound"):
        return []
    vlan = in_port.vlan if in_port.vlan is not None else pkt.vlan or 0
    topo = ctx.topo
    ctx.mask |= pk.ETHERTYPE | pk.ETH_SRC | pk.ETH_DST | pk.VLAN
    if pkt.ethertype == ETH_ARP and _answer_arp(ctx, bid, in_port, pkt):
        return []
    src = pkt.eth_src
    if not src >> 40 & 1:
        ctx.tags.add(("mac", bid, src))
        static = (bid, src) in topo.static_macs
        if not static and ctx.state.mac_port(bid, vlan, src) != in_port.id:
            ctx.learned.append(MacLearned(bid, vlan, src, in_port.id))
    dst = pkt.eth_dst
    target: str | None = None
    if not dst >> 40 & 1:
        ctx.tags.add(("mac", bid, dst))
        target = topo.static_macs.get((bid, dst))
        if target is None:
            target = ctx.state.mac_port(bid, vlan, dst)
    if target is not None:
        ctx.tags.add(("port", target))
        out = topo.ports.get(target)
        if out is None or out.device_id != bid:
            target = None  # stale learned entry: flood instead
        elif out.id == in_port.id:
            ctx.drop(bid, "bridge", "destination is behind the ingress port")
            return []
        elif out.vlan is not None and out.vlan != vlan:
            ctx.drop(bid, "bridge", "destination port is in another VLAN")
            return []
        else:
            ctx.hop(bid, "bridge", "forward", reason=f"mac -> {out.id}")
            return _outbound(ctx, bridge, in_port, [out], pkt, vlan)
    ctx.tags.add(("flood", bid))
    ports = [
        p
        for p in topo.ports_by_device.get(bid, ())
        if p.id != in_port.id and (p.vlan is None or p.vlan == vlan)
    ]
    ctx.hop(bid, "bridge", "flood", reason=f"{len(ports)} ports")
    if not ports:
        ctx.end(Decision.DROP, "flood with no other port")
        return []
    return _outbound(ctx, bridge, in_port, ports, pkt, vlan)


def _answer_arp(ctx: Context, bid: str, in_port: Port, pkt: Packet) -> bool:
    """Answer a who-has for an address the bridge knows (router port or seeded VM address)."""
    ctx.mask |= pk.ARP_OP | pk.ARP_TPA
    if pkt.arp_op != ARP_REQUEST or pkt.arp_tpa is None:
        return False
    ctx.tags.add(("ip", bid, pkt.arp_tpa))
    known = ctx.topo.bridge_ips.get((bid, pkt.arp_tpa))
    if known is None or known[1] == in_port.id:
        return False
    ctx.mask |= pk.ARP_SHA | pk.ARP_SPA
    ctx.generated.append(Emit(in_port.id, arp.reply(pkt, known[0], pkt.arp_tpa), "arp reply"))
    ctx.hop(bid, "bridge", "arp_reply", reason="answered by the agent")
    ctx.end(Decision.CONSUMED, "arp request answered")
    return True


def _outbound(
    ctx: Context, bridge: Bridge, in_port: Port, ports: list[Port], pkt: Packet, vlan: int
) -> Out:
    out: Out = []
    for port in ports:
        verdict = run_chain(ctx, bridge.outbound_chain_id, pkt, in_port.id, port.id)
        if not passes(ctx, verdict, in_port, pkt, bridge.id, "bridge", "bridge outbound"):
            continue
        want = None if port.vlan is not None or not vlan else vlan
        out.append((port, pkt if pkt.vlan == want else pkt._replace(vlan=want)))
    return out
