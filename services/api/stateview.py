"""A StateView over the replicated learned-state tables (MAC and ARP), for traces.

"net.macs": ORMap(LWWRegister), key (bridge_id, vlan, mac) -> {"port_id", "host_id"}.
"net.arps": ORMap(LWWRegister), key (router_id, ip) -> mac. Both ints are plain ints.
The DictStateView is rebuilt lazily after a change.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from crdt import LWWRegister, ORMap
from services.api.store import TableLike
from services.simulation.state import DictStateView

MACS_TABLE = "net.macs"
ARPS_TABLE = "net.arps"


def new_state_table() -> ORMap:
    """An empty learned-state table."""
    return ORMap(LWWRegister)


def state_from_values(macs: dict[Any, Any], arps: dict[Any, Any]) -> DictStateView:
    """A DictStateView from the tables' plain values (malformed entries are skipped)."""
    mac_tables: dict[tuple[str, int], dict[int, str]] = {}
    for key, value in macs.items():
        if isinstance(key, tuple) and len(key) == 3 and isinstance(value, dict):
            bridge, vlan, mac = key
            port = value.get("port_id")
            if isinstance(port, str) and isinstance(vlan, int) and isinstance(mac, int):
                mac_tables.setdefault((bridge, vlan), {})[mac] = port
    arp_tables: dict[str, dict[int, int]] = {}
    for key, value in arps.items():
        if isinstance(key, tuple) and len(key) == 2 and isinstance(value, int):
            router, ip = key
            if isinstance(router, str) and isinstance(ip, int):
                arp_tables.setdefault(router, {})[ip] = value
    return DictStateView(mac_tables, arp_tables)


class TableStateView:
    """Keeps a DictStateView in step with the two tables."""

    def __init__(self, macs: TableLike, arps: TableLike) -> None:
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
