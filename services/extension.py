"""The meshd extension "network": topology and learned-state tables, and the HTTP API.

Loaded by meshd through the entry point group ``vnetmesh.extensions`` (name ``network``).
"""

from __future__ import annotations

from mesh.extension import BaseExtension, ExtensionContext, TableSpec
from services.api.routes import add_routes
from services.simulation.learned import ARPS_TABLE, MACS_TABLE, new_state_table
from services.simulation.readmodel import ReadModel, shared_model
from services.simulation.stateview import TableStateView
from services.topology import tables as T
from services.topology.model import KINDS
from services.topology.store import TopologyStore


class NetworkExtension(BaseExtension):
    """Declares net.<kind> tables plus net.macs / net.arps; serves /v1/<kind>, /v1/trace."""

    name = "network"

    def __init__(self) -> None:
        self.model: ReadModel | None = None
        self.store: TopologyStore | None = None
        self.state: TableStateView | None = None

    def tables(self) -> list[TableSpec]:
        """One table per topology kind, plus the MAC and ARP tables."""
        specs = [TableSpec(T.table_name(kind), T.new_table) for kind in KINDS]
        specs += [TableSpec(MACS_TABLE, new_state_table), TableSpec(ARPS_TABLE, new_state_table)]
        return specs

    def setup(self, ctx: ExtensionContext) -> None:
        """Take the node's read model (shared with the agent) and add the routes."""
        self.model = model = shared_model(ctx)
        self.store = model.store
        self.state = model.state
        add_routes(ctx.app, model.store, model.state.view)
