"""A StateView over the replicated learned-state tables (services/simulation/learned.py),
for traces and the agent. The DictStateView is rebuilt lazily after a change."""

from __future__ import annotations

from collections.abc import Hashable, Mapping

from crdt import CRDT
from mesh.table import TableLike
from services.simulation.learned import arp_entries, mac_entries
from services.simulation.state import DictStateView


def state_from_values(
    macs: Mapping[Hashable, object], arps: Mapping[Hashable, object]
) -> DictStateView:
    """A DictStateView from the tables' plain values (malformed entries are skipped)."""
    mac_tables: dict[tuple[str, int], dict[int, str]] = {}
    for m in mac_entries(macs):
        mac_tables.setdefault((m.bridge_id, m.vlan), {})[m.mac] = m.port_id
    arp_tables: dict[str, dict[int, int]] = {}
    for a in arp_entries(arps):
        arp_tables.setdefault(a.router_id, {})[a.ip] = a.mac
    return DictStateView(mac_tables, arp_tables)


class TableStateView:
    """Keeps a DictStateView in step with the two tables."""

    def __init__(self, macs: TableLike[CRDT], arps: TableLike[CRDT]) -> None:
        self._macs = macs
        self._arps = arps
        self._view: DictStateView | None = None
        macs.subscribe(self._changed)
        arps.subscribe(self._changed)

    def _changed(self, keys: frozenset[Hashable]) -> None:
        self._view = None

    def view(self) -> DictStateView:
        """The current state as a DictStateView."""
        if self._view is None:
            self._view = state_from_values(self._macs.state.value(), self._arps.state.value())
        return self._view
