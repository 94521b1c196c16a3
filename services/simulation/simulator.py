"""The walk: port -> device -> port ..., at most MAX_DEVICES devices along any path
(and MAX_VISITS device visits over all the branches a flood forks).

Chain order (fixed): ingress port inbound -> device inbound -> device logic -> device
outbound -> egress port outbound -> (interior link) peer port inbound -> next device ...
Exterior egress ends the walk at a host; generated packets are returned, never sent.
"""

from __future__ import annotations

from services.simulation import bridge, router
from services.simulation.chain import run_chain
from services.simulation.context import MAX_DEVICES, MAX_VISITS, Context
from services.simulation.packet import Packet
from services.simulation.result import Decision, Egress, SimulationResult
from services.simulation.state import StateView
from services.simulation.verdicts import passes
from services.topology.port import Port
from services.topology.snapshot import Topology


def simulate(
    topology: Topology, state: StateView, ingress_port_id: str, packet: Packet
) -> SimulationResult:
    """Simulate `packet` entering the virtual network at `ingress_port_id` (pure)."""
    ctx = Context(topology, state, ingress_port_id)
    ctx.tags.add(("port", ingress_port_id))
    port = topology.ports.get(ingress_port_id)
    if port is None:
        ctx.drop(ingress_port_id, "port", "unknown ingress port")
    else:
        _enter(ctx, port, packet, 0)
    return ctx.result(packet)


def emit(topology: Topology, state: StateView, port_id: str, packet: Packet) -> SimulationResult:
    """Simulate a generated packet sent out of a device through `port_id` (see Emit)."""
    ctx = Context(topology, state, port_id)
    ctx.tags.add(("port", port_id))
    port = topology.ports.get(port_id)
    if port is None:
        ctx.drop(port_id, "port", "unknown port")
    else:
        _leave(ctx, port, packet, port, 0)
    return ctx.result(packet)


def _enter(ctx: Context, port: Port, pkt: Packet, depth: int) -> None:
    """The packet enters a device through `port`; `depth` devices are behind it."""
    pid = port.id
    ctx.tags.add(("port", pid))
    if not port.admin_state_up:
        ctx.drop(pid, "port", "port is down")
        return
    ctx.hop(pid, "port", "in")
    verdict = run_chain(ctx, port.inbound_chain_id, pkt, pid, None)
    if not passes(ctx, verdict, port, pkt, pid, "port", "port inbound"):
        return
    depth += 1
    ctx.devices += 1
    if depth > MAX_DEVICES:
        ctx.drop(port.device_id, "port", f"walk exceeded {MAX_DEVICES} devices")
        return
    if ctx.devices > MAX_VISITS:
        ctx.drop(port.device_id, "port", f"walk exceeded {MAX_VISITS} device visits")
        return
    topo = ctx.topo
    device = topo.bridges.get(port.device_id)
    if device is not None:
        outs = bridge.process(ctx, device, port, pkt)
    else:
        rdevice = topo.routers.get(port.device_id)
        if rdevice is None:
            ctx.drop(port.device_id, "port", "port without a device")
            return
        outs = router.process(ctx, rdevice, port, pkt)
    for out_port, out_pkt in outs:
        _leave(ctx, out_port, out_pkt, port, depth)


def _leave(ctx: Context, port: Port, pkt: Packet, in_port: Port, depth: int) -> None:
    """The packet leaves a device through `port` (`in_port` is where it entered that device)."""
    pid = port.id
    ctx.tags.add(("port", pid))
    if not port.admin_state_up:
        ctx.drop(pid, "port", "port is down")
        return
    verdict = run_chain(ctx, port.outbound_chain_id, pkt, in_port.id, pid)
    if not passes(ctx, verdict, in_port, pkt, pid, "port", "port outbound"):
        return
    ctx.hop(pid, "port", "out")
    topo = ctx.topo
    if port.peer_id is not None:
        peer = topo.ports.get(port.peer_id)
        if peer is None:
            ctx.drop(pid, "port", "peer port missing")
            return
        _enter(ctx, peer, pkt, depth)
        return
    binding = port.binding
    if binding is None:
        ctx.drop(pid, "port", "exterior port is not bound")
        return
    key = topo.tunnel_keys.get(pid, 0)
    ctx.egress.append(Egress(pid, binding.host_id, binding.interface, key, pkt))
    ctx.end(Decision.FORWARD, None)
