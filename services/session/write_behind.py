"""The bounded queue between ``offer`` and a store's writer: entries by primary key in
offer order, a re-offer replacing the queued one in place (one write, latest value)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable

from services.session.entries import SessionEntry, SessionKey


class WriteBehindQueue:
    """At most ``max_entries`` distinct entries waiting; more are refused (the caller
    counts them as dropped)."""

    __slots__ = ("_items", "max_entries")

    def __init__(self, max_entries: int) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self.max_entries = max_entries
        self._items: OrderedDict[SessionKey, SessionEntry] = OrderedDict()

    def __len__(self) -> int:
        return len(self._items)

    def offer(self, entries: Iterable[SessionEntry]) -> int:
        """Queue entries; returns how many were taken (a full queue takes only re-offers
        of entries already queued)."""
        taken = 0
        items = self._items
        for e in entries:
            key = e.key
            if key in items or len(items) < self.max_entries:
                items[key] = e
                taken += 1
        return taken

    def take(self, n: int) -> list[SessionEntry]:
        """Remove and return up to ``n`` entries, oldest offer first."""
        out: list[SessionEntry] = []
        items = self._items
        while items and len(out) < n:
            out.append(items.popitem(last=False)[1])
        return out

    def clear(self) -> int:
        """Drop everything queued; returns how many."""
        n = len(self._items)
        self._items.clear()
        return n
