"""Ending a branch of the walk: drops, and rejects that send an ICMP error back."""

from __future__ import annotations

from services.simulation import icmp
from services.simulation.context import Context
from services.simulation.packet import Packet
from services.simulation.result import Decision, Emit, Hop
from services.topology.port import Port


def reject(
    ctx: Context,
    back_port: Port,
    pkt: Packet,
    device: str,
    kind: str,
    reason: str,
    type_: int = icmp.DEST_UNREACH,
    code: int = icmp.CODE_ADMIN_PROHIBITED,
) -> None:
    """Reject: an ICMP error (when one may be sent) goes out of `back_port`, towards the sender.

    A router port answers from its own address; elsewhere the error claims the packet's
    destination as its source, as a host-based firewall would.
    """
    if back_port.address is not None:
        src_mac, src_ip = back_port.mac, back_port.address.addr
    else:
        src_mac, src_ip = pkt.eth_dst, None
    error = icmp.error(ctx, pkt, src_mac, src_ip, type_, code)
    ctx.hops.append(_hop(device, kind, reason))
    if error is None:
        ctx.end(Decision.DROP, reason)
        return
    ctx.generated.append(Emit(back_port.id, error, reason))
    ctx.end(Decision.REJECT, reason)


def passes(
    ctx: Context, verdict: str, back_port: Port, pkt: Packet, device: str, kind: str, what: str
) -> bool:
    """Apply a chain verdict: True if the packet may go on, else end the branch."""
    if verdict == "accept":
        return True
    reason = f"{what} chain {verdict}"
    if verdict == "reject":
        reject(ctx, back_port, pkt, device, kind, reason)
    else:
        ctx.drop(device, kind, reason)
    return False


def _hop(device: str, kind: str, reason: str) -> Hop:
    return Hop(device, kind, "reject", None, reason)
