"""Packets waiting for a router's next hop to be resolved by ARP (pure: time is passed in).

Per (router id, next-hop IPv4) a bounded FIFO of held items, each with a deadline, and a
global cap so a scan of unresolved addresses cannot hold unbounded memory. The shell holds a
packet on needs-ARP, takes the key's items back when the ARP entry appears, and takes the
items whose deadline passed back to re-simulate them (the simulation then retries the ARP or
answers host unreachable).
"""

from __future__ import annotations

import collections
import enum
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
T = TypeVar("T")


class Held(enum.Enum):
    """What hold() did with the new item."""

    HELD = "held"
    HELD_DROPPED_OLDEST = "held_dropped_oldest"  # the key's FIFO was full: its oldest went
    REFUSED = "refused"  # the global cap was reached: the new item is not held


@dataclass(frozen=True, slots=True)
class _Entry(Generic[T]):
    deadline: float
    item: T


class ArpWaitQueue(Generic[K, T]):
    """Bounded FIFOs of held items per next hop, with per-item deadlines."""

    def __init__(self, per_key: int = 8, total: int = 256, timeout: float = 1.0) -> None:
        if per_key < 1 or total < 1 or timeout <= 0:
            raise ValueError("per_key and total must be >= 1, timeout > 0")
        self.per_key = per_key
        self.total = total
        self.timeout = timeout
        self._fifos: dict[K, collections.deque[_Entry[T]]] = {}
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def waiting(self, key: K) -> int:
        """How many items wait for `key`."""
        fifo = self._fifos.get(key)
        return 0 if fifo is None else len(fifo)

    def hold(self, key: K, item: T, now: float, front: bool = False) -> Held:
        """Hold `item` until `key` resolves or now + timeout passes; `front`: ahead of the
        key's other items (a packet held again keeps its place before newer ones)."""
        entry = _Entry(now + self.timeout, item)
        fifo = self._fifos.get(key)
        if fifo is not None and len(fifo) >= self.per_key:
            fifo.popleft()
            fifo.appendleft(entry) if front else fifo.append(entry)
            return Held.HELD_DROPPED_OLDEST
        if self._count >= self.total:
            return Held.REFUSED
        if fifo is None:
            fifo = self._fifos[key] = collections.deque()
        fifo.appendleft(entry) if front else fifo.append(entry)
        self._count += 1
        return Held.HELD

    def resolved(self, key: K) -> list[T]:
        """`key` resolved: its items, oldest first (no longer held)."""
        fifo = self._fifos.pop(key, None)
        if fifo is None:
            return []
        self._count -= len(fifo)
        return [e.item for e in fifo]

    def expired(self, now: float) -> list[tuple[K, T]]:
        """(key, item) of the items whose deadline passed (deadline <= now), no longer held;
        per key oldest first."""
        out: list[tuple[K, T]] = []
        for key in list(self._fifos):
            fifo = self._fifos[key]
            while fifo and fifo[0].deadline <= now:
                out.append((key, fifo.popleft().item))
                self._count -= 1
            if not fifo:
                del self._fifos[key]
        return out

    def next_deadline(self) -> float | None:
        """The soonest deadline of any held item (None when nothing is held)."""
        heads = [f[0].deadline for f in self._fifos.values() if f]
        return min(heads) if heads else None
