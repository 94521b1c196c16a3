"""Pure packet simulation: simulate(topology, state_view, ingress_port_id, packet)."""

from services.simulation.packet import Packet
from services.simulation.result import (
    ArpLearned,
    ArpWait,
    Decision,
    Egress,
    Emit,
    FlowMatch,
    Hop,
    MacLearned,
    SimulationResult,
)
from services.simulation.simulator import emit, simulate
from services.simulation.state import DictStateView, StateView

__all__ = [
    "ArpLearned",
    "ArpWait",
    "Decision",
    "DictStateView",
    "Egress",
    "Emit",
    "FlowMatch",
    "Hop",
    "MacLearned",
    "Packet",
    "SimulationResult",
    "StateView",
    "emit",
    "simulate",
]
