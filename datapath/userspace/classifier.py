"""The userspace flow table: an exact-match cache in front of a tuple-space megaflow search.

Pure data structure (no sockets, no clock reads: callers pass ``now``). Each distinct mask
owns a dict from masked flat key to flow; a lookup masks the packet's flat key once per mask,
as Open vSwitch's dpcls does, and remembers the answer per exact flat key.
"""

from __future__ import annotations

import errno
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from operator import and_

from datapath.api import DatapathError, FlowStats
from datapath.flow.actions import Action, Drop, Output, SetTunnel
from datapath.flow.flat import L_VLAN, Flat, flatten
from datapath.flow.key import FlowKey, TunnelKey
from datapath.flow.mask import FlowMask


@dataclass(slots=True)
class Entry:
    """One megaflow with its mutable counters."""

    ufid: bytes
    key: FlowKey
    mask: FlowMask
    actions: tuple[Action, ...]
    masked: Flat
    flat_mask: Flat
    fast: tuple[tuple[int, TunnelKey | None], ...] | None = None  # outputs, if that is all
    packets: int = 0
    bytes: int = 0
    used: float | None = None
    tcp_flags: int = 0

    def stats(self) -> FlowStats:
        return FlowStats(self.packets, self.bytes, self.used, self.tcp_flags)

    def hit(self, length: int, now: float, tcp_flags: int) -> None:
        self.packets += 1
        self.bytes += length
        self.used = now
        self.tcp_flags |= tcp_flags


def _always_vlan(flat_mask: Flat) -> Flat:
    """Match the VLAN tag (its presence and TCI) in every flow, as the kernel datapath does."""
    m = list(flat_mask)
    m[0] |= L_VLAN
    m[13] = 0xFFFF
    return tuple(m)


def _outputs(actions: Sequence[Action]) -> tuple[tuple[int, TunnelKey | None], ...] | None:
    """The (port, tunnel) sends of an action list made only of outputs, set(tunnel) and drop:
    the common case, executed without interpreting the actions per packet."""
    tunnel: TunnelKey | None = None
    sends: list[tuple[int, TunnelKey | None]] = []
    for action in actions:
        if isinstance(action, Output):
            sends.append((action.port, tunnel))
        elif isinstance(action, SetTunnel):
            tunnel = action.tunnel
        elif not isinstance(action, Drop):
            return None
    return tuple(sends)


class FlowTable:
    """Megaflows by mask (tuple-space search) plus an exact-match cache of recent lookups."""

    def __init__(self, emc_size: int = 8192) -> None:
        self._by_ufid: dict[bytes, Entry] = {}
        self._tables: dict[Flat, dict[Flat, Entry]] = {}  # mask -> masked key -> entry
        self._emc: dict[Flat, Entry | None] = {}
        self._emc_size = emc_size

    def __len__(self) -> int:
        return len(self._by_ufid)

    def __iter__(self) -> Iterator[Entry]:
        return iter(list(self._by_ufid.values()))

    def get(self, ufid: bytes) -> Entry | None:
        return self._by_ufid.get(ufid)

    def install(
        self,
        ufid: bytes,
        key: FlowKey,
        mask: FlowMask,
        actions: Sequence[Action],
        replace: bool = False,
    ) -> Entry:
        """Add a flow; an identical match (same mask and masked key) is EEXIST unless replace."""
        flat_mask = _always_vlan(flatten(mask))
        masked = tuple(map(and_, flatten(key), flat_mask))
        old = self._tables.get(flat_mask, {}).get(masked)
        if not replace and (ufid in self._by_ufid or old is not None):
            raise DatapathError("a flow with this UFID or match exists", errno.EEXIST)
        if ufid in self._by_ufid:
            self.delete(ufid)
        if old is not None and old.ufid in self._by_ufid:
            self.delete(old.ufid)
        table = self._tables.setdefault(flat_mask, {})
        entry = Entry(ufid, key, mask, tuple(actions), masked, flat_mask, _outputs(actions))
        table[masked] = entry
        self._by_ufid[ufid] = entry
        self._emc.clear()
        return entry

    def delete(self, ufid: bytes) -> Entry:
        entry = self._by_ufid.pop(ufid, None)
        if entry is None:
            raise DatapathError("no flow with this UFID", errno.ENOENT)
        table = self._tables[entry.flat_mask]
        if table.get(entry.masked) is entry:
            del table[entry.masked]
        if not table:
            del self._tables[entry.flat_mask]
        self._emc.clear()
        return entry

    def flush(self) -> None:
        self._by_ufid.clear()
        self._tables.clear()
        self._emc.clear()

    def lookup(self, flat: Flat) -> Entry | None:
        """The flow matching a flat packet key, or None (a miss)."""
        emc = self._emc
        if flat in emc:
            return emc[flat]
        found = None
        for flat_mask, table in self._tables.items():
            found = table.get(tuple(map(and_, flat, flat_mask)))
            if found is not None:
                break
        if found is not None:  # misses are not cached: the upcall usually installs a flow
            if len(emc) >= self._emc_size:
                emc.clear()
            emc[flat] = found
        return found

    @property
    def masks(self) -> int:
        return len(self._tables)
