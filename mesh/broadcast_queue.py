"""Transmit-limited broadcast queue (memberlist's TransmitLimitedQueue).

Broadcasts (membership changes, CRDT deltas) are piggybacked on outgoing datagrams, the
least-transmitted first (newest first among equals), until each has been sent
`limit` times. A new broadcast about the same subject (key) replaces the old one."""

from __future__ import annotations

import math
from collections.abc import Hashable
from dataclasses import dataclass


def retransmit_limit(mult: int, n: int) -> int:
    """mult * ceil(log10(n + 1)): sends per broadcast for an n-member cluster."""
    return mult * max(1, math.ceil(math.log10(n + 1)))


_MIN_ITEM = 8
"""No broadcast is smaller than this; stop scanning when the budget falls below it."""


@dataclass(slots=True)
class _Item:
    id: int
    key: Hashable | None
    payload: bytes
    transmits: int


class BroadcastQueue:
    """Pending broadcasts bucketed by transmit count (get() is O(selected), not O(n))."""

    def __init__(self) -> None:
        self._buckets: list[dict[int, _Item]] = [{}]
        self._by_key: dict[Hashable, _Item] = {}
        self._next_id = 0
        self._len = 0

    def __len__(self) -> int:
        return self._len

    def queue(self, payload: bytes, key: Hashable | None = None) -> None:
        """Add a broadcast; with a key, it replaces any queued broadcast of that key."""
        if key is not None:
            old = self._by_key.pop(key, None)
            if old is not None:
                self._discard(old)
        self._next_id += 1
        item = _Item(self._next_id, key, payload, 0)
        self._buckets[0][item.id] = item
        self._len += 1
        if key is not None:
            self._by_key[key] = item

    def _discard(self, item: _Item) -> None:
        del self._buckets[item.transmits][item.id]
        self._len -= 1

    def get(self, budget: int, limit: int, per_item_overhead: int = 0) -> list[bytes]:
        """Broadcasts that fit in `budget` bytes, least-transmitted first; each one's count
        is increased and it leaves the queue once sent `limit` times."""
        out: list[bytes] = []
        moved: list[_Item] = []
        for bucket in self._buckets:
            for iid in reversed(bucket):
                item = bucket[iid]
                size = len(item.payload) + per_item_overhead
                if size > budget:
                    continue
                budget -= size
                out.append(item.payload)
                moved.append(item)
                if budget < _MIN_ITEM:
                    break
            if budget < _MIN_ITEM:
                break
        for item in moved:
            self._discard(item)
            item.transmits += 1
            if item.transmits >= limit:
                if item.key is not None and self._by_key.get(item.key) is item:
                    del self._by_key[item.key]
                continue
            while len(self._buckets) <= item.transmits:
                self._buckets.append({})
            self._buckets[item.transmits][item.id] = item
            self._len += 1
        return out

    def prune(self, max_len: int) -> int:
        """Drop the most-transmitted broadcasts until at most max_len remain; returns the
        number dropped."""
        dropped = 0
        for bucket in reversed(self._buckets):
            while self._len > max_len and bucket:
                item = bucket[next(iter(bucket))]
                self._discard(item)
                if item.key is not None and self._by_key.get(item.key) is item:
                    del self._by_key[item.key]
                dropped += 1
        return dropped

    def clear(self) -> None:
        """Forget every pending broadcast."""
        self._buckets = [{}]
        self._by_key.clear()
        self._len = 0
