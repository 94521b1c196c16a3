"""POST /v1/trace: simulate one packet on the current snapshot and explain the walk."""

from __future__ import annotations

from typing import Any

from services.api.errors import ApiError
from services.simulation import SimulationResult, simulate
from services.simulation.packet import Packet
from services.simulation.result import ArpLearned, MacLearned
from services.simulation.state import StateView
from services.topology.addr import format_ip, format_mac
from services.topology.errors import ValidationError
from services.topology.snapshot import Topology


def trace(topology: Topology, state: StateView, body: Any) -> dict[str, Any]:
    """Run the simulation for {"ingress_port": id, "packet": {...}}."""
    if not isinstance(body, dict):
        raise ApiError(400, "expected a JSON object", "body")
    unknown = set(body) - {"ingress_port", "packet"}
    if unknown:
        raise ApiError(400, "unknown field", sorted(unknown)[0])
    ingress = body.get("ingress_port")
    if not isinstance(ingress, str):
        raise ApiError(400, "expected a port id", "ingress_port")
    if ingress not in topology.ports:
        raise ApiError(404, f"no port {ingress}", "ingress_port")
    try:
        packet = Packet.from_dict(body.get("packet"))  # type: ignore[arg-type]
    except ValidationError as e:
        raise ApiError(400, e.message, e.field) from None
    return result_json(simulate(topology, state, ingress, packet))


def result_json(r: SimulationResult) -> dict[str, Any]:
    """The JSON form of a simulation result."""
    learned: list[dict[str, Any]] = []
    for u in r.learned:
        if isinstance(u, MacLearned):
            learned.append(
                {
                    "bridge_id": u.bridge_id,
                    "vlan": u.vlan,
                    "mac": format_mac(u.mac),
                    "port_id": u.port_id,
                }
            )
        elif isinstance(u, ArpLearned):
            learned.append(
                {"router_id": u.router_id, "ip": format_ip(u.ip), "mac": format_mac(u.mac)}
            )
    out = r.packet_out
    return {
        "decision": r.decision.value,
        "reason": r.reason,
        "egress_ports": list(r.egress_ports),
        "packet_out": out.to_dict() if out is not None else None,
        "egress": [
            {
                "port_id": e.port_id,
                "host_id": e.host_id,
                "interface": e.interface,
                "tunnel_key": e.tunnel_key,
                "packet": e.packet.to_dict(),
                "rewrites": sorted(r.rewrites(e)),
            }
            for e in r.egress
        ],
        "generated": [
            {"port_id": g.port_id, "reason": g.reason, "packet": g.packet.to_dict()}
            for g in r.generated
        ],
        "learned": learned,
        "match": sorted(r.match.fields()),
        "hops": [h.to_dict() for h in r.hops],
    }
