"""Plain counters of one node (no clocks, no exporters): the shell exports them."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field


def _counter() -> defaultdict[str, int]:
    return defaultdict(int)


@dataclass(slots=True)
class Metrics:
    """Messages and bytes in/out by kind, drops by reason, and replication lag."""

    messages_in: defaultdict[str, int] = field(default_factory=_counter)
    messages_out: defaultdict[str, int] = field(default_factory=_counter)
    bytes_in: defaultdict[str, int] = field(default_factory=_counter)
    bytes_out: defaultdict[str, int] = field(default_factory=_counter)
    drops: defaultdict[str, int] = field(default_factory=_counter)
    deltas_applied: int = 0
    states_applied: int = 0
    push_pulls: int = 0
    convergence_lag_last: float = 0.0
    """Seconds between a delta's creation at its origin and its application here (last)."""
    convergence_lag_max: float = 0.0
    convergence_lag_sum: float = 0.0
    convergence_lag_count: int = 0

    def drop(self, reason: str) -> None:
        """Count one dropped input."""
        self.drops[reason] += 1

    def lag(self, seconds: float) -> None:
        """Record one delta's origin-to-here lag."""
        seconds = max(0.0, seconds)
        self.convergence_lag_last = seconds
        self.convergence_lag_max = max(self.convergence_lag_max, seconds)
        self.convergence_lag_sum += seconds
        self.convergence_lag_count += 1
