"""The node's one read model of the network: a topology store and a learned-state view
over the replicated tables, shared by the network extension (HTTP API) and the agent (the
packet path), so both read the same snapshot, rebuilt once per change."""

from __future__ import annotations

import weakref
from collections.abc import Callable, Hashable, Mapping
from typing import Any, Protocol

from crdt import CRDT
from mesh.table import TableLike
from services.simulation.learned import ARPS_TABLE, MACS_TABLE
from services.simulation.stateview import TableStateView
from services.topology import tables as T
from services.topology.model import KINDS
from services.topology.store import TopologyStore


class LearnedTable(TableLike[CRDT], Protocol):
    """A learned-state table as the agent writes it: mesh's TableLike plus the map writes
    mesh.table.Table has (MemoryTable too)."""

    def put(self, key: Hashable, value: Any, *, now: float) -> object: ...

    def delete(self, key: Hashable, *, now: float) -> object: ...


class NodeTables(Protocol):
    """Where the tables come from (mesh.extension.ExtensionContext has this shape)."""

    def table(self, name: str) -> Any: ...

    def now(self) -> float: ...

    def notify_written(self) -> None: ...


class ReadModel:
    """The topology tables with their store, and the MAC and ARP tables with their view."""

    def __init__(
        self,
        tables: Mapping[str, TableLike[CRDT]],
        macs: LearnedTable,
        arps: LearnedTable,
        *,
        clock: Callable[[], float],
        on_write: Callable[[], None] = lambda: None,
    ) -> None:
        self.tables = tables
        self.macs = macs
        self.arps = arps
        self.store = TopologyStore(tables, on_write, clock=clock)
        self.state = TableStateView(macs, arps)


#: one model per set of tables, by the id of its "bridges" table; weak, so the model goes
#: with the node (a live model holds its tables, so the id cannot be reused meanwhile)
_SHARED: weakref.WeakValueDictionary[int, ReadModel] = weakref.WeakValueDictionary()


def shared_model(node: NodeTables) -> ReadModel:
    """The read model over `node`'s tables: built by the first extension that asks, the
    same object for every later one."""
    tables: dict[str, TableLike[CRDT]] = {kind: node.table(T.table_name(kind)) for kind in KINDS}
    anchor = tables["bridges"]
    model = _SHARED.get(id(anchor))
    if model is None or model.tables["bridges"] is not anchor:
        model = ReadModel(
            tables,
            node.table(MACS_TABLE),
            node.table(ARPS_TABLE),
            clock=node.now,
            on_write=node.notify_written,
        )
        _SHARED[id(anchor)] = model
    return model
