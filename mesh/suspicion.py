"""Lifeguard suspicion timer: starts long, shrinks as independent members confirm.

A suspect is declared dead when `deadline()` passes. The timeout falls from `max_timeout`
toward `min_timeout` logarithmically with the number of distinct confirmations, reaching
the floor at `k` confirmations: a well-corroborated suspicion resolves fast, a lonely (maybe
false) one leaves the suspect time to hear about it and refute."""

from __future__ import annotations

import math


def suspicion_bounds(
    suspicion_mult: int, max_timeout_mult: int, n: int, probe_interval: float
) -> tuple[float, float]:
    """(min, max) timeout for a cluster of n members (memberlist's formula)."""
    scale = max(1.0, math.log10(max(1, n)))
    low = suspicion_mult * scale * probe_interval
    return low, max_timeout_mult * low


def confirmations_needed(suspicion_mult: int, n: int) -> int:
    """Expected independent confirmations k (suspicion_mult - 2, fewer in tiny clusters)."""
    k = suspicion_mult - 2
    return max(0, min(k, n - 2))


class Suspicion:
    """One suspicion about one member, started by `source` at `start`."""

    __slots__ = ("_confirmers", "incarnation", "k", "max_timeout", "min_timeout", "start")

    def __init__(
        self,
        start: float,
        source: str,
        incarnation: int,
        k: int,
        min_timeout: float,
        max_timeout: float,
    ) -> None:
        self.start = start
        self.incarnation = incarnation
        self.k = k
        self.min_timeout = min_timeout
        self.max_timeout = max(min_timeout, max_timeout)
        self._confirmers = {source}

    @property
    def confirmations(self) -> int:
        """Independent confirmations so far (the starting source does not count)."""
        return len(self._confirmers) - 1

    def confirm(self, source: str) -> bool:
        """Record a confirmation; True if it is new (then it is worth re-gossiping)."""
        if source in self._confirmers or self.confirmations >= self.k:
            return False
        self._confirmers.add(source)
        return True

    def timeout(self) -> float:
        """Current timeout: max - (max - min) * log(c + 1) / log(k + 1), floored at min."""
        if self.k < 1:
            return self.min_timeout
        frac = math.log(self.confirmations + 1) / math.log(self.k + 1)
        return max(
            self.min_timeout, self.max_timeout - (self.max_timeout - self.min_timeout) * frac
        )

    def deadline(self) -> float:
        """Time at which the suspect is declared dead unless it refutes first."""
        return self.start + self.timeout()
