"""The closed set of simulation outcomes and the values a result carries."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any, NamedTuple

from services.simulation.packet import FIELD_NAMES, Packet

Tag = tuple[Any, ...]


class Decision(enum.Enum):
    """What happens to the packet as a whole."""

    FORWARD = "forward"  # delivered to one or more egress ports
    DROP = "drop"  # silently discarded
    REJECT = "reject"  # discarded, an ICMP error goes back (in `generated`)
    CONSUMED = "consumed"  # answered by the agent (ARP reply, ICMP echo reply, ARP learnt)
    NEEDS_ARP = "needs_arp"  # next hop unresolved: send `generated` ARP request, retry later


class Hop(NamedTuple):
    """One step of the trace: a port, device or chain and what it did (a NamedTuple: hot)."""

    device: str
    kind: str  # bridge | router | port | chain
    action: str
    rule: str | None = None
    reason: str | None = None

    def to_dict(self) -> dict[str, str | None]:
        """Plain data (trace API)."""
        return {
            "device": self.device,
            "kind": self.kind,
            "action": self.action,
            "rule": self.rule,
            "reason": self.reason,
        }


@dataclass(frozen=True, slots=True)
class Egress:
    """The packet leaves the virtual network at an exterior port (on `host_id`)."""

    port_id: str
    host_id: str | None
    interface: str | None
    tunnel_key: int
    packet: Packet


@dataclass(frozen=True, slots=True)
class Emit:
    """A packet the agent generates and sends out of virtual port `port_id` (see emit())."""

    port_id: str
    packet: Packet
    reason: str


@dataclass(frozen=True, slots=True)
class MacLearned:
    """State to commit: `mac` on (bridge, vlan) is behind `port_id`."""

    bridge_id: str
    vlan: int
    mac: int
    port_id: str


@dataclass(frozen=True, slots=True)
class ArpLearned:
    """State to commit: router `router_id` resolved `ip` to `mac`."""

    router_id: str
    ip: int
    mac: int


@dataclass(frozen=True, slots=True)
class ArpWait:
    """The packet waits for router `router_id` to resolve `ip` (one more ARP attempt)."""

    router_id: str
    ip: int
    port_id: str


StateUpdate = MacLearned | ArpLearned


@dataclass(frozen=True, slots=True)
class FlowMatch:
    """The flow key with wildcards: only the fields in `mask` were read by the simulation."""

    in_port: str
    mask: int
    values: tuple[Any, ...]  # the masked fields' values, in FIELD_NAMES order

    def fields(self) -> dict[str, Any]:
        """name -> value of the exact-match fields."""
        names = [n for i, n in enumerate(FIELD_NAMES) if self.mask >> i & 1]
        return dict(zip(names, self.values, strict=True))


@dataclass(frozen=True, slots=True)
class SimulationResult:
    """Everything the shell needs: decision, outputs, state to commit, match, tags, trace."""

    decision: Decision
    reason: str | None
    egress: tuple[Egress, ...]
    generated: tuple[Emit, ...]
    learned: tuple[StateUpdate, ...]
    match: FlowMatch
    tags: frozenset[Tag]
    hops: tuple[Hop, ...]
    arp_wait: ArpWait | None = None
    packet: Packet | None = None  # the simulated packet, for rewrites()

    def rewrites(self, egress: Egress) -> dict[str, Any]:
        """Header fields `egress` sets (field -> new value), relative to the input packet.

        Every field a device writes is also in the match, so these set-field actions are
        the same for every packet the match covers.
        """
        orig = self.packet
        out = egress.packet
        return {
            n: getattr(out, n)
            for n in FIELD_NAMES
            if orig is None or getattr(out, n) != getattr(orig, n)
        }

    @property
    def egress_ports(self) -> tuple[str, ...]:
        """Ids of the egress ports, in walk order."""
        return tuple(e.port_id for e in self.egress)

    @property
    def packet_out(self) -> Packet | None:
        """The rewritten packet of the first egress (the common single-egress case)."""
        return self.egress[0].packet if self.egress else None
