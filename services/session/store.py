"""The seam between the packet path and where sessions are kept across restarts: the
:class:`SessionStore` protocol and the value a restore returns.

The packet path never awaits a store: it calls :meth:`SessionStore.offer` (non-blocking,
bounded) and each store's own asyncio task writes behind it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from mesh.counters import Counters
from services.session.entries import SessionEntry


@dataclass(frozen=True, slots=True)
class RestoreResult:
    """What a restore of one port read. ``complete`` is False when the store failed or the
    time bound passed (``reason`` says which): the port goes active with what there is."""

    port_id: str
    entries: tuple[SessionEntry, ...]
    complete: bool = True
    reason: str = ""


class SessionStore(Protocol):
    """Where session entries are written behind the packet path and read back by port."""

    @property
    def counters(self) -> Counters:
        """The store's declared counters (services/session/counters.py STORE_DEFS)."""
        ...

    def offer(self, entries: Sequence[SessionEntry]) -> int:
        """Queue entries to be written (new, or still in use: the write refreshes them).
        Never blocks and never raises for a store problem; returns how many were taken,
        the rest are dropped and counted."""
        ...

    async def start(self) -> None:
        """Start the writer task; returns without waiting for the backend to be reachable."""
        ...

    async def restore(self, port_id: str, timeout: float | None = None) -> RestoreResult:
        """The stored entries whose connection entered or left through ``port_id``,
        within ``timeout`` seconds (default: the config's ``restore_timeout``)."""
        ...

    async def close(self) -> None:
        """Write what is queued (bounded time), then stop the task and the connection."""
        ...
