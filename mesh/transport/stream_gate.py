"""StreamGate: who may hold an inbound TCP stream, in two stages (pure, no sockets or clocks).

A connection first takes a cheap *pending* slot while its first frame arrives (bounded in
time by the driver's frame deadline); only a frame that is complete (and, with a key,
authenticated) moves it to one of the few *serving* slots that a costly exchange (push-pull,
state transfer) may hold for the whole stream timeout. Every source address is also limited
to a few streams in either stage, so one host cannot take every slot.
"""

from __future__ import annotations

from dataclasses import dataclass, field

REFUSALS: dict[str, str] = {
    "stream_rejected": "inbound stream refused: max_inbound_streams exchanges already served",
    "stream_refused_pending": (
        "inbound connection refused: max_pending_streams connections already waiting for "
        "their first frame"
    ),
    "stream_refused_source": (
        "inbound connection refused: its source address already holds "
        "max_streams_per_source streams"
    ),
    "stream_frame_timeout": (
        "inbound stream closed: its first frame (header and body) was not complete within "
        "stream_frame_timeout"
    ),
    "stream_unauthenticated": (
        "inbound stream closed: with a key configured, its first frame did not open "
        "(also counted by the core as drops{reason=auth})"
    ),
}
"""Every reason the shell refuses or cuts an inbound stream, with its help text; each is a
`reason` of ``mesh_shell_errors_total`` and is exported from the start (at zero)."""


@dataclass(frozen=True, slots=True)
class GateLimits:
    """The three limits of the gate (see MeshConfig for the reasons behind the defaults)."""

    max_serving: int = 32
    max_pending: int = 64
    max_per_source: int = 8


@dataclass(slots=True)
class StreamGate:
    """Counts of pending and serving streams, in total and per source address."""

    limits: GateLimits = field(default_factory=GateLimits)
    pending: int = 0
    serving: int = 0
    by_source: dict[str, int] = field(default_factory=dict)

    def admit(self, source: str) -> str | None:
        """Take a pending slot for a new connection from ``source``; the refusal reason
        (a key of REFUSALS) if it may not have one."""
        if self.by_source.get(source, 0) >= self.limits.max_per_source:
            return "stream_refused_source"
        if self.pending >= self.limits.max_pending:
            return "stream_refused_pending"
        self.pending += 1
        self.by_source[source] = self.by_source.get(source, 0) + 1
        return None

    def promote(self) -> str | None:
        """Move an admitted stream whose first frame is in (and authentic) to a serving
        slot; the refusal reason if every serving slot is taken (it stays pending)."""
        if self.serving >= self.limits.max_serving:
            return "stream_rejected"
        self.pending -= 1
        self.serving += 1
        return None

    def release(self, source: str, serving: bool) -> None:
        """Give back the slot of a finished stream from ``source`` (in whichever stage)."""
        if serving:
            self.serving = max(0, self.serving - 1)
        else:
            self.pending = max(0, self.pending - 1)
        left = self.by_source.get(source, 0) - 1
        if left > 0:
            self.by_source[source] = left
        else:
            self.by_source.pop(source, None)
