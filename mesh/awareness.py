"""Lifeguard local health: a score that slows our own probing when we look unhealthy.

Missed acks and missing nacks raise the score, successful probes lower it; probe interval
and timeout are multiplied by (score + 1). A node whose own CPU or network is struggling
thus gives peers more time instead of declaring them dead."""

from __future__ import annotations


class Awareness:
    """Score in [0, max_multiplier - 1]."""

    __slots__ = ("max_multiplier", "score")

    def __init__(self, max_multiplier: int) -> None:
        self.max_multiplier = max(1, max_multiplier)
        self.score = 0

    def apply_delta(self, delta: int) -> None:
        """Raise (delta > 0) or lower the score, clamped to its range."""
        self.score = min(self.max_multiplier - 1, max(0, self.score + delta))

    def scale(self, timeout: float) -> float:
        """`timeout` stretched by the current health: timeout * (score + 1)."""
        return timeout * (self.score + 1)
