"""Plain counters of one node (no clocks, no exporters), declared once with their help
text: the shell exports them through :class:`mesh.counters.MetricsSource`."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from mesh.counters import CounterDef, Sample

PREFIX = "mesh"

DECLARED: tuple[CounterDef, ...] = (
    CounterDef("messages_in", "Messages received, by kind", ("kind",)),
    CounterDef("messages_out", "Messages sent, by kind", ("kind",)),
    CounterDef("bytes_in", "Bytes received, by transport (datagram, stream)", ("kind",)),
    CounterDef("bytes_out", "Bytes sent, by transport (datagram, stream)", ("kind",)),
    CounterDef("drops", "Inputs dropped, by reason", ("reason",)),
    CounterDef("deltas_applied", "Remote deltas applied to a table"),
    CounterDef("states_applied", "Full table states applied (state transfers)"),
    CounterDef("push_pulls", "Push-pull exchanges started"),
    CounterDef(
        "convergence_lag_last",
        "Seconds from a delta's creation at its origin to its application here (last)",
        kind="gauge",
    ),
    CounterDef("convergence_lag_max", "Largest convergence lag seen (seconds)", kind="gauge"),
    CounterDef("convergence_lag_sum", "Sum of convergence lags (seconds)", kind="gauge"),
    CounterDef("convergence_lag_count", "Deltas whose lag was measured", kind="gauge"),
)
"""Every exported figure of the core, in export order (the names are the field names)."""


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

    def _figures(self) -> dict[str, Mapping[str, int] | float]:
        return {
            "messages_in": self.messages_in,
            "messages_out": self.messages_out,
            "bytes_in": self.bytes_in,
            "bytes_out": self.bytes_out,
            "drops": self.drops,
            "deltas_applied": self.deltas_applied,
            "states_applied": self.states_applied,
            "push_pulls": self.push_pulls,
            "convergence_lag_last": self.convergence_lag_last,
            "convergence_lag_max": self.convergence_lag_max,
            "convergence_lag_sum": self.convergence_lag_sum,
            "convergence_lag_count": self.convergence_lag_count,
        }

    def metric_samples(self) -> Iterator[Sample]:
        """Every DECLARED figure as a Sample named ``mesh_<field>`` (a MetricsSource)."""
        figures = self._figures()
        for d in DECLARED:
            value = figures[d.name]
            values: dict[tuple[str, ...], float]
            if isinstance(value, Mapping):
                values = {(str(k),): float(n) for k, n in sorted(value.items())}
            else:
                values = {(): float(value)}
            yield Sample(f"{PREFIX}_{d.name}", d.help, d.kind, d.labels, values)
