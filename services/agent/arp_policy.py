"""When a packet waits on ARP, and for how long (pure: time is passed in).

A packet whose router must resolve its next hop is held (bounded, ``arp_wait.ArpWaitQueue``)
and replayed when the ARP entry appears. Per next hop only the first packet sends an ARP
request; later ones wait with it. When the hold bound passes, the oldest held packet of each
next hop is simulated again (one more ARP attempt, or host unreachable after the last) and
the others wait once more, so a burst costs one ARP attempt per bound, not one each; a packet
held ``max_holds`` times is dropped. Unanswered attempts are counted per next hop (the
simulation reads them) and forgotten after ``forget`` seconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from mesh.counters import Counters
from services.agent.arp_wait import ArpWaitQueue, Held
from services.simulation.router import MAX_ARP_ATTEMPTS
from services.simulation.state import StateView

T = TypeVar("T")

Hop = tuple[str, int]  # (router id, next-hop IPv4)


@dataclass(frozen=True, slots=True)
class ArpConfig:
    """Bounds of holding packets on ARP (PathConfig carries the operator's values)."""

    hold: float = 1.0  # a held packet is simulated again after this (seconds)
    per_hop: int = 8  # packets held per next hop; beyond: the oldest is dropped
    total: int = 256  # packets held in all; beyond: the new one is dropped
    max_holds: int = 4  # times one packet is held before it is dropped
    forget: float = 10.0  # after this, unanswered ARP attempts start over (seconds)
    max_attempts: int = MAX_ARP_ATTEMPTS  # the simulation answers unreachable after these


@dataclass(frozen=True, slots=True)
class Waiting(Generic[T]):
    """A held item (an upcall) going back through the packet path; ``holds``: how often it
    has been held so far."""

    item: T
    holds: int


class ArpPolicy(Generic[T]):
    """Held packets and ARP attempt counts per next hop; counts into the agent's counters
    (``arp_wait_*``)."""

    def __init__(self, config: ArpConfig, counters: Counters) -> None:
        self.cfg = config
        self.counters = counters
        self.queue: ArpWaitQueue[Hop, Waiting[T]] = ArpWaitQueue(
            config.per_hop, config.total, config.hold
        )
        self._attempts: dict[Hop, tuple[int, float]] = {}  # hop -> (count, first attempt)

    def __len__(self) -> int:
        """Packets held in all."""
        return len(self.queue)

    def attempts(self, hop: Hop) -> int:
        """Unanswered ARP attempts for ``hop`` (what the simulation reads)."""
        entry = self._attempts.get(hop)
        return 0 if entry is None else entry[0]

    def needs_arp(self, hop: Hop, item: T, holds: int, now: float) -> bool:
        """The simulation asked to ARP for ``hop`` on behalf of ``item`` (held ``holds`` times
        before): hold it. True: a request for ``hop`` is outstanding, so the ARP request the
        simulation generated is not sent (the packet waits with the earlier ones)."""
        coalesce = holds == 0 and self.queue.waiting(hop) > 0
        if coalesce:
            self.counters.inc("arp_wait_coalesced")
        else:
            n, first = self._attempts.get(hop, (0, now))
            self._attempts[hop] = (n + 1, first)
        if holds >= self.cfg.max_holds:
            self.counters.inc("arp_wait_abandoned")
        else:
            self._hold(hop, Waiting(item, holds + 1), now)
        return coalesce

    def resolved(self, hop: Hop) -> list[Waiting[T]]:
        """``hop`` was learned (by this agent): its held items, oldest first."""
        out = self.queue.resolved(hop)
        self.counters.inc("arp_wait_resolved", len(out))
        return out

    def learned(self, hop: Hop) -> list[Waiting[T]]:
        """The ARP entry of ``hop`` appeared in the table: its attempts start over and its
        held items go back, oldest first."""
        self._attempts.pop(hop, None)
        return self.resolved(hop)

    def expire(self, now: float) -> list[Waiting[T]]:
        """Held items whose bound passed: per next hop the oldest goes back to be simulated
        again (all of them once the attempts are used up: host unreachable); the others are
        held once more, keeping their order. Old attempt counts are forgotten."""
        again: dict[Hop, list[Waiting[T]]] = {}
        retry: list[Waiting[T]] = []
        for hop, waiting in self.queue.expired(now):
            self.counters.inc("arp_wait_expired")
            if hop not in again or self.attempts(hop) >= self.cfg.max_attempts:
                again.setdefault(hop, [])
                self.counters.inc("arp_wait_retried")
                retry.append(waiting)
            elif waiting.holds >= self.cfg.max_holds:
                self.counters.inc("arp_wait_abandoned")
            else:
                again[hop].append(Waiting(waiting.item, waiting.holds + 1))
        for hop, items in again.items():
            for waiting in reversed(items):  # each goes to the front: their order is kept
                self._hold(hop, waiting, now)
        for hop, (_n, first) in list(self._attempts.items()):
            if now - first > self.cfg.forget:
                del self._attempts[hop]
        return retry

    def forget_attempts(self) -> None:
        """Forget every attempt count (the next needs-ARP starts at attempt one)."""
        self._attempts.clear()

    def _hold(self, hop: Hop, waiting: Waiting[T], now: float) -> None:
        held = self.queue.hold(hop, waiting, now, front=waiting.holds > 1)
        if held is Held.REFUSED:
            self.counters.inc("arp_wait_overflow")
            return
        if held is Held.HELD_DROPPED_OLDEST:
            self.counters.inc("arp_wait_overflow")
        self.counters.inc("arp_wait_held")


class AttemptCounts(Protocol):
    """Where unanswered ARP attempts are counted (an ArpPolicy)."""

    def attempts(self, hop: Hop) -> int:
        """Unanswered ARP attempts for ``hop``."""
        ...


class WithAttempts:
    """The simulation's StateView: learned tables plus this agent's ARP attempt counts."""

    __slots__ = ("_base", "_policy")

    def __init__(self, base: StateView, policy: AttemptCounts) -> None:
        self._base = base
        self._policy = policy

    def mac_port(self, bridge_id: str, vlan: int, mac: int) -> str | None:
        return self._base.mac_port(bridge_id, vlan, mac)

    def arp_mac(self, router_id: str, ip: int) -> int | None:
        return self._base.arp_mac(router_id, ip)

    def arp_attempts(self, router_id: str, ip: int) -> int:
        return self._policy.attempts((router_id, ip))
