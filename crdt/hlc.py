"""Hybrid logical clock (Kulkarni et al.) for last-writer-wins timestamps.

A timestamp is (wall milliseconds, logical counter, replica id). The wall part follows the
physical clock when it moves forward; the logical counter orders events inside one
millisecond and events stamped after observing a timestamp from a clock that runs ahead.
Ties between replicas are broken by the replica id, so the order is total and the same
everywhere.

Clocks are injectable: `LWWRegister.assign(..., hlc=HLC(clock=...))`, or the module-level
registry `clock_for(replica)` whose physical source `set_physical_clock(fn)` replaces (tests).
This is the only place in crdt/ that reads a clock.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import NamedTuple

PhysicalClock = Callable[[], int]
"""A source of physical time in integer milliseconds."""


class Timestamp(NamedTuple):
    """An HLC timestamp; compares as the tuple (wall, logical, replica): a total order."""

    wall: int
    logical: int
    replica: str


def system_ms() -> int:
    """Wall-clock milliseconds since the epoch."""
    return time.time_ns() // 1_000_000


_physical: PhysicalClock = system_ms


class HLC:
    """One replica's hybrid logical clock. `clock=None` uses the module's physical source."""

    __slots__ = ("_clock", "_logical", "_wall")

    def __init__(self, clock: PhysicalClock | None = None) -> None:
        self._clock = clock
        self._wall = 0
        self._logical = 0

    def stamp(self, after: tuple[int, int] | None = None) -> tuple[int, int]:
        """A new (wall, logical) pair greater than every earlier one and than `after`.

        `after` is an observed timestamp's (wall, logical): passing it merges the receive
        and send events of the HLC algorithm, so a write that saw a value always outranks it
        even if this replica's physical clock is behind.
        """
        pt = (self._clock or _physical)()
        w, lg = self._wall, self._logical
        if after is not None and (after[0], after[1]) > (w, lg):
            w, lg = after[0], after[1]
        if pt > w:
            w, lg = pt, 0
        else:
            lg += 1
        self._wall, self._logical = w, lg
        return w, lg

    def observe(self, ts: tuple[int, int]) -> None:
        """Account for a received timestamp without issuing one."""
        if (ts[0], ts[1]) > (self._wall, self._logical):
            self._wall, self._logical = ts[0], ts[1]

    @property
    def last(self) -> tuple[int, int]:
        """The last (wall, logical) issued or observed."""
        return self._wall, self._logical


_clocks: dict[str, HLC] = {}


def clock_for(replica: str) -> HLC:
    """The registry's HLC of `replica` (created on first use)."""
    c = _clocks.get(replica)
    if c is None:
        c = _clocks[replica] = HLC()
    return c


def set_physical_clock(fn: PhysicalClock | None) -> None:
    """Replace the physical time source of registry clocks (None restores the system clock)."""
    global _physical
    _physical = fn if fn is not None else system_ms


def reset_clocks() -> None:
    """Forget every registry clock (tests)."""
    _clocks.clear()
