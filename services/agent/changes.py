"""Table changes waiting to be processed (pure): the change task turns them into
invalidation tags and binding updates.

Table subscriptions call in with the changed keys; they only mark (cheap). A topology change
marks the topology dirty (the tags come from comparing snapshots later); a learned MAC or
ARP entry marks the tags of the flows that depended on its absence or old value.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable

from services.simulation.invalidation import arp_entry_tags, mac_entry_tags
from services.simulation.result import Tag


class PendingChanges:
    """Change marks since the last take()."""

    __slots__ = ("_tags", "topology_dirty")

    def __init__(self) -> None:
        self.topology_dirty = False
        self._tags: set[Tag] = set()

    def topology(self) -> None:
        """A topology table changed."""
        self.topology_dirty = True

    def macs(self, keys: Iterable[Hashable]) -> None:
        """Learned MAC entries (bridge id, vlan, mac) changed."""
        for key in keys:
            if isinstance(key, tuple) and len(key) == 3:
                self._tags |= mac_entry_tags(key[0], key[2])

    def arps(self, keys: Iterable[Hashable]) -> list[tuple[str, int]]:
        """Learned ARP entries (router id, ip) changed; returns those (router id, ip)."""
        hops: list[tuple[str, int]] = []
        for key in keys:
            if isinstance(key, tuple) and len(key) == 2:
                self._tags |= arp_entry_tags(key[0], key[1])
                hops.append((key[0], key[1]))
        return hops

    def take(self) -> tuple[set[Tag], bool]:
        """(the marked tags, whether the topology changed); the marks are cleared."""
        tags, self._tags = self._tags, set()
        dirty, self.topology_dirty = self.topology_dirty, False
        return tags, dirty
