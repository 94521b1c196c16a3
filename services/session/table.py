"""The session table: conntrack entries and NAT bindings in memory, bounded, idling out.

Pure: every call that needs the time takes ``now``. An entry lives while datapath flows use
it (the shell calls :meth:`SessionTable.touch` from flow statistics) and ``idle_timeout``
seconds after. The packet path reads it; stores are fed from :meth:`refresh_due` and
restore into it (:meth:`restore`).
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from services.session.entries import ConnEntry, NatEntry, SessionEntry, SessionKey
from services.session.keys import ConnKey
from services.session.nat import NatDirection, NatKey


@dataclass(frozen=True, slots=True)
class SnapshotItem:
    """One entry of a snapshot and how long it had been idle when the snapshot was taken."""

    entry: SessionEntry
    idle_for: float


class _Slot:
    """An entry with its mutable bookkeeping (private to the table)."""

    __slots__ = ("entry", "last_offered", "last_used", "seq")

    def __init__(self, entry: SessionEntry, now: float, seq: int) -> None:
        self.entry = entry
        self.last_used = now
        self.last_offered = now
        self.seq = seq


class SessionTable:
    """Entries by primary key; NAT bindings also by their return key; a port index; an
    expiry heap (lazy: ``touch`` only moves ``last_used``, the heap catches up on pop)."""

    def __init__(self, idle_timeout: float = 60.0, max_entries: int = 100_000) -> None:
        if idle_timeout <= 0:
            raise ValueError("idle_timeout must be positive")
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self.idle_timeout = idle_timeout
        self.max_entries = max_entries
        self._slots: dict[SessionKey, _Slot] = {}
        self._return: dict[NatKey, NatKey] = {}  # NAT return key -> forward (primary) key
        self._by_port: dict[str, set[SessionKey]] = {}
        self._heap: list[tuple[float, int, SessionKey]] = []
        self._seq = itertools.count()

    def __len__(self) -> int:
        return len(self._slots)

    def __iter__(self) -> Iterator[SessionEntry]:
        return iter([s.entry for s in self._slots.values()])

    # --- reads (the packet path) ---

    def get(self, key: SessionKey) -> SessionEntry | None:
        """The entry under a primary key or a NAT return key."""
        slot = self._slot(key)
        return None if slot is None else slot.entry

    def conntrack(self, key: ConnKey) -> ConnEntry | None:
        """The conntrack entry of ``key`` (look up the reversed key for a return packet)."""
        slot = self._slots.get(key)
        return slot.entry if slot is not None and isinstance(slot.entry, ConnEntry) else None

    def nat(self, key: NatKey) -> NatEntry | None:
        """The NAT binding found by a forward or a return key."""
        slot = self._slot(key)
        return slot.entry if slot is not None and isinstance(slot.entry, NatEntry) else None

    def by_port(self, port_id: str) -> list[SessionEntry]:
        """Entries whose connection entered or left through ``port_id``."""
        keys = self._by_port.get(port_id, ())
        return [self._slots[k].entry for k in keys]

    def idle_for(self, key: SessionKey, now: float) -> float | None:
        """Seconds since ``key`` was last used (None if absent)."""
        slot = self._slot(key)
        return None if slot is None else max(0.0, now - slot.last_used)

    # --- writes ---

    def put(self, entry: SessionEntry, now: float) -> list[SessionEntry]:
        """Insert or replace ``entry`` (used as of ``now``, and counted as offered to the
        store: the caller offers new entries itself). Returns entries evicted to stay
        within ``max_entries``, longest idle first."""
        key = entry.key
        old = self._slots.get(key)
        if old is not None:
            self._unindex(key, old.entry)
            old.entry = entry
            old.last_used = max(old.last_used, now)
            old.last_offered = now
            self._index(key, entry)
            return []
        evicted: list[SessionEntry] = []
        while len(self._slots) >= self.max_entries:
            victim = self._pop_earliest(None)
            if victim is None:
                break
            evicted.append(victim)
        self._insert(entry, now, now)
        return evicted

    def put_many(self, entries: Iterable[SessionEntry], now: float) -> list[SessionEntry]:
        """:meth:`put` each entry; the evicted ones together."""
        evicted: list[SessionEntry] = []
        for e in entries:
            evicted.extend(self.put(e, now))
        return evicted

    def touch(self, key: SessionKey, now: float) -> bool:
        """A datapath flow used the entry at ``now``: push its expiry back. False if absent."""
        slot = self._slot(key)
        if slot is None:
            return False
        if now > slot.last_used:
            slot.last_used = now
        return True

    def remove(self, key: SessionKey) -> SessionEntry | None:
        """Forget an entry (by primary or return key); the heap record goes lazily."""
        slot = self._slot(key)
        if slot is None:
            return None
        primary = slot.entry.key
        del self._slots[primary]
        self._unindex(primary, slot.entry)
        return slot.entry

    def remove_port(self, port_id: str) -> list[SessionEntry]:
        """Forget every entry of a port (unbound and not coming back here)."""
        keys = list(self._by_port.get(port_id, ()))
        out = []
        for k in keys:
            e = self.remove(k)
            if e is not None:
                out.append(e)
        return out

    def expired(self, now: float) -> list[SessionEntry]:
        """Remove and return the entries idle for ``idle_timeout`` or more at ``now``."""
        out: list[SessionEntry] = []
        while self._heap and self._heap[0][0] <= now:
            victim = self._pop_earliest(now)
            if victim is None:
                break
            out.append(victim)
        return out

    def next_deadline(self) -> float | None:
        """A time at or before which the next entry may expire (for the shell's timer)."""
        return self._heap[0][0] if self._heap else None

    # --- the stores ---

    def refresh_due(self, now: float, interval: float) -> list[SessionEntry]:
        """Entries used since they were last offered to the store, last offered at least
        ``interval`` ago; marks them offered at ``now``. O(entries): call it on a timer."""
        out: list[SessionEntry] = []
        for slot in self._slots.values():
            if slot.last_used > slot.last_offered and now - slot.last_offered >= interval:
                slot.last_offered = now
                out.append(slot.entry)
        return out

    def snapshot(self, now: float) -> list[SnapshotItem]:
        """Every live entry with its idle time at ``now`` (a clock-free form to persist)."""
        limit = self.idle_timeout
        return [
            SnapshotItem(s.entry, max(0.0, now - s.last_used))
            for s in self._slots.values()
            if now - s.last_used < limit
        ]

    def restore(self, items: Iterable[SnapshotItem], now: float) -> list[SessionEntry]:
        """Add snapshot items as idle since ``now - idle_for`` (already-expired ones are
        skipped; an entry present here already keeps the more recent use). Returns evicted
        entries, as :meth:`put` does."""
        evicted: list[SessionEntry] = []
        for item in items:
            if not item.idle_for < self.idle_timeout:
                continue
            used = now - max(0.0, item.idle_for)
            key = item.entry.key
            old = self._slots.get(key)
            if old is not None:
                old.last_used = max(old.last_used, used)
                continue
            while len(self._slots) >= self.max_entries:
                victim = self._pop_earliest(None)
                if victim is None:
                    break
                evicted.append(victim)
            self._insert(item.entry, used, now)
        return evicted

    # --- internals ---

    def _slot(self, key: SessionKey) -> _Slot | None:
        slot = self._slots.get(key)
        if slot is None and isinstance(key, NatKey) and key.direction is NatDirection.RETURN:
            primary = self._return.get(key)
            if primary is not None:
                slot = self._slots.get(primary)
        return slot

    def _insert(self, entry: SessionEntry, used: float, offered: float) -> None:
        key = entry.key
        slot = _Slot(entry, used, next(self._seq))
        slot.last_offered = offered
        self._slots[key] = slot
        self._index(key, entry)
        heapq.heappush(self._heap, (used + self.idle_timeout, slot.seq, key))
        if len(self._heap) > 2 * len(self._slots) + 1024:
            self._compact()

    def _index(self, key: SessionKey, entry: SessionEntry) -> None:
        if isinstance(entry, NatEntry):
            self._return[entry.return_key] = entry.key
        for port in entry.ports.ports():
            self._by_port.setdefault(port, set()).add(key)

    def _unindex(self, key: SessionKey, entry: SessionEntry) -> None:
        if isinstance(entry, NatEntry):
            rk = entry.return_key
            if self._return.get(rk) == key:
                del self._return[rk]
        for port in entry.ports.ports():
            keys = self._by_port.get(port)
            if keys is not None:
                keys.discard(key)
                if not keys:
                    del self._by_port[port]

    def _pop_earliest(self, now: float | None) -> SessionEntry | None:
        """Remove the entry idle the longest; with ``now``, only if it has expired by then
        (records of touched entries are pushed again at their real deadline)."""
        while self._heap:
            deadline, seq, key = self._heap[0]
            slot = self._slots.get(key)
            if slot is None or slot.seq != seq:
                heapq.heappop(self._heap)  # stale: removed or replaced since
                continue
            real = slot.last_used + self.idle_timeout
            if real > deadline:
                heapq.heapreplace(self._heap, (real, seq, key))
                continue
            if now is not None and real > now:
                return None
            heapq.heappop(self._heap)
            del self._slots[key]
            self._unindex(key, slot.entry)
            return slot.entry
        return None

    def _compact(self) -> None:
        self._heap = [(s.last_used + self.idle_timeout, s.seq, k) for k, s in self._slots.items()]
        heapq.heapify(self._heap)
