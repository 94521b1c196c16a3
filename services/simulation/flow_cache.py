"""A pure flow cache keyed by wildcarded match, with a tag index for invalidation.

Entries are stored per (in_port, mask), like megaflows: a lookup projects the packet onto
each mask seen for the port. Any hit is correct, because a result holds for every packet
that agrees with it on the masked fields.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from services.simulation.packet import FIELD_NAMES, Packet
from services.simulation.result import SimulationResult, Tag

Key = tuple[str, int, tuple[Any, ...]]


def _names(mask: int) -> tuple[str, ...]:
    return tuple(n for i, n in enumerate(FIELD_NAMES) if mask >> i & 1)


class FlowCache:
    """Results by match; `invalidate(tags)` removes exactly the entries carrying a tag."""

    __slots__ = ("_by_tag", "_entries", "_masks")

    def __init__(self) -> None:
        self._entries: dict[Key, SimulationResult] = {}
        self._masks: dict[str, dict[int, tuple[str, ...]]] = {}
        self._by_tag: dict[Tag, set[Key]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def keys(self) -> set[Key]:
        """Keys of the cached entries."""
        return set(self._entries)

    def insert(self, result: SimulationResult) -> Key:
        """Cache a result under its match."""
        m = result.match
        key: Key = (m.in_port, m.mask, m.values)
        if key in self._entries:
            self._drop(key)
        self._entries[key] = result
        self._masks.setdefault(m.in_port, {}).setdefault(m.mask, _names(m.mask))
        for tag in result.tags:
            self._by_tag.setdefault(tag, set()).add(key)
        return key

    def lookup(self, in_port: str, packet: Packet) -> SimulationResult | None:
        """A cached result whose match covers (in_port, packet), if any."""
        for mask, names in self._masks.get(in_port, {}).items():
            hit = self._entries.get((in_port, mask, tuple(getattr(packet, n) for n in names)))
            if hit is not None:
                return hit
        return None

    def invalidate(self, tags: Iterable[Tag]) -> set[Key]:
        """Remove every entry carrying one of `tags`; returns their keys."""
        gone: set[Key] = set()
        for tag in tags:
            gone |= self._by_tag.get(tag, set())
        for key in gone:
            self._drop(key)
        return gone

    def _drop(self, key: Key) -> None:
        result = self._entries.pop(key)
        for tag in result.tags:
            keys = self._by_tag.get(tag)
            if keys is not None:
                keys.discard(key)
                if not keys:
                    del self._by_tag[tag]
