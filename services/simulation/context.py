"""Per-simulation scratch state: fields read (wildcards), tags, trace and outcomes.

A context lives for one `simulate` call and is turned into a frozen SimulationResult.
"""

from __future__ import annotations

from services.simulation.packet import FIELD_NAMES, Packet
from services.simulation.result import (
    ArpWait,
    Decision,
    Egress,
    Emit,
    FlowMatch,
    Hop,
    SimulationResult,
    StateUpdate,
    Tag,
)
from services.simulation.state import StateView
from services.topology.snapshot import Topology

MAX_DEVICES = 12  # MidoNet's bound on the devices along one path of the walk
MAX_VISITS = 256  # bound on device visits over all flood branches of one simulation

_PRIORITY = {
    Decision.FORWARD: 4,
    Decision.NEEDS_ARP: 3,
    Decision.REJECT: 2,
    Decision.CONSUMED: 1,
    Decision.DROP: 0,
}


class Context:
    """Mutable record of one walk; only the simulation touches it."""

    __slots__ = (
        "arp_wait",
        "devices",
        "egress",
        "ended",
        "generated",
        "hops",
        "in_port",
        "learned",
        "mask",
        "outcome",
        "reason",
        "state",
        "tag_sets",
        "tags",
        "topo",
    )

    def __init__(self, topo: Topology, state: StateView, in_port: str) -> None:
        self.topo = topo
        self.state = state
        self.in_port = in_port
        self.mask = 0
        self.tags: set[Tag] = set()
        self.tag_sets: list[frozenset[Tag]] = []  # chains' precomputed tag sets, merged once
        self.hops: list[Hop] = []
        self.egress: list[Egress] = []
        self.generated: list[Emit] = []
        self.learned: list[StateUpdate] = []
        self.devices = 0
        self.outcome = Decision.DROP
        self.ended = False
        self.reason: str | None = None
        self.arp_wait: ArpWait | None = None

    def hop(
        self,
        device: str,
        kind: str,
        action: str,
        rule: str | None = None,
        reason: str | None = None,
    ) -> None:
        """Append a trace step."""
        self.hops.append(Hop(device, kind, action, rule, reason))

    def end(self, decision: Decision, reason: str | None) -> None:
        """Record how one branch of the walk ended (the strongest branch wins)."""
        if not self.ended or _PRIORITY[decision] > _PRIORITY[self.outcome]:
            self.ended = True
            self.outcome = decision
            self.reason = reason

    def drop(self, device: str, kind: str, reason: str) -> None:
        """End this branch with a drop, traced."""
        self.hops.append(Hop(device, kind, "drop", None, reason))
        self.end(Decision.DROP, reason)

    def result(self, packet: Packet) -> SimulationResult:
        """Freeze into the result; the match keeps only the fields that were read."""
        mask = self.mask
        values = tuple(getattr(packet, n) for i, n in enumerate(FIELD_NAMES) if mask >> i & 1)
        return SimulationResult(
            decision=self.outcome,
            reason=self.reason,
            egress=tuple(self.egress),
            generated=tuple(self.generated),
            learned=tuple(self.learned),
            match=FlowMatch(self.in_port, mask, values),
            tags=frozenset(self.tags).union(*self.tag_sets),
            hops=tuple(self.hops),
            arp_wait=self.arp_wait,
            packet=packet,
        )
