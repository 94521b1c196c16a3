"""The meshd extension "network": topology and learned-state tables, and the HTTP API.

Loaded by meshd through the entry point group ``vnetmesh.extensions`` (name ``network``).
"""

from __future__ import annotations

from typing import Any

from mesh.extension import BaseExtension, ExtensionContext, TableSpec
from services.api.routes import add_routes
from services.api.stateview import ARPS_TABLE, MACS_TABLE, TableStateView, new_state_table
from services.api.store import TopologyStore
from services.topology import tables as T
from services.topology.model import KINDS


class NetworkExtension(BaseExtension):
    """Declares net.<kind> tables plus net.macs / net.arps; serves /v1/<kind>, /v1/trace."""

    name = "network"

    def __init__(self) -> None:
        self.store: TopologyStore | None = None
        self.state: TableStateView | None = None

    def tables(self) -> list[TableSpec]:
        """One table per topology kind, plus the MAC and ARP tables."""
        specs = [TableSpec(T.table_name(kind), T.new_table) for kind in KINDS]
        specs += [TableSpec(MACS_TABLE, new_state_table), TableSpec(ARPS_TABLE, new_state_table)]
        return specs

    def setup(self, ctx: ExtensionContext) -> None:
        """Build the store over the node's tables and add the routes."""
        tables: dict[str, Any] = {kind: ctx.table(T.table_name(kind)) for kind in KINDS}
        self.store = TopologyStore(tables, on_write=ctx.notify_written, clock=ctx.now)
        self.state = TableStateView(ctx.table(MACS_TABLE), ctx.table(ARPS_TABLE))
        add_routes(ctx.app, self.store, self.state.view)
