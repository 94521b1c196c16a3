"""The meshd extension "agent": runs the packet path over the network extension's tables.

The backend comes from ``meshd --datapath auto|kernel|userspace|off`` or
``[extensions.agent] datapath = "..."``; the default ``auto`` takes the kernel datapath where
the openvswitch module is present, else the userspace one (logged). ``off``: no packet path.
Routes: GET /v1/flows (installed flows with counters), GET /v1/agent (bindings, counters).
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from collections.abc import Mapping, Sequence

from aiohttp import web

from datapath.api import Datapath
from mesh.extension import BaseExtension, ExtensionContext
from mesh.member import MemberState
from services.agent.backend import choose, open_datapath
from services.agent.config import agent_config
from services.agent.packet_path import PacketPath
from services.simulation.readmodel import shared_model
from services.simulation.result import ArpLearned, MacLearned, StateUpdate
from services.simulation.state import StateView, stale_mac_entries
from services.topology.snapshot import Topology

log = logging.getLogger("services.agent")

_LIVE = (MemberState.ALIVE, MemberState.SUSPECT)


class _TableSources:
    """The packet path's Sources over meshd's replicated tables and membership."""

    def __init__(self, ctx: ExtensionContext) -> None:
        self.ctx = ctx
        model = shared_model(ctx)  # the network extension's store and view, not a copy
        self.store = model.store
        self.macs = model.macs
        self.arps = model.arps
        self.view = model.state
        self.tables = model.tables

    def topology(self) -> Topology:
        return self.store.topology()

    def state(self) -> StateView:
        return self.view.view()

    def underlay(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for m in self.ctx.members():
            if m.state in _LIVE:
                try:
                    out[m.meta.host_id] = int(ipaddress.IPv4Address(m.meta.underlay))
                except ValueError:
                    continue
        return out

    def commit(self, updates: Sequence[StateUpdate]) -> None:
        host = self.ctx.host_id
        for u in updates:
            if isinstance(u, MacLearned):
                self.macs.put(
                    (u.bridge_id, u.vlan, u.mac),
                    {"port_id": u.port_id, "host_id": host},
                    now=self.ctx.now(),
                )
            elif isinstance(u, ArpLearned):
                self.arps.put((u.router_id, u.ip), u.mac, now=self.ctx.now())
        self.ctx.notify_written()

    def prune_macs(self) -> int:
        """Delete learned MAC entries that went stale (port gone or moved, learner left):
        ours, and those of hosts no longer in the mesh. Returns how many."""
        gone = {
            m.meta.host_id
            for m in self.ctx.members()
            if m.state in (MemberState.DEAD, MemberState.LEFT)
        }
        entries: dict[tuple[str, int, int], tuple[str, str]] = {}
        learned: Mapping[object, object] = self.macs.state.value()
        for key, value in learned.items():
            if isinstance(key, tuple) and len(key) == 3 and isinstance(value, dict):
                entries[key] = (str(value.get("port_id")), str(value.get("host_id")))
        # hosts merely not heard of yet count as live: only DEAD or LEFT ones lose entries
        live = frozenset(h for _, h in entries.values() if h not in gone)
        stale = stale_mac_entries(entries, self.topology(), live)
        me = self.ctx.host_id
        mine = [k for k in stale if entries[k][1] == me or entries[k][1] in gone]
        for key in mine:
            self.macs.delete(key, now=self.ctx.now())
        if mine:
            self.ctx.notify_written()
        return len(mine)


async def _prune_loop(src: _TableSources, interval: float) -> None:
    while True:
        await asyncio.sleep(interval)
        try:
            n = src.prune_macs()
            if n:
                log.info("pruned %d stale MAC entries", n)
        except Exception:
            log.exception("MAC pruning failed")


class AgentExtension(BaseExtension):
    """Binds exterior ports to local interfaces and runs the packet path."""

    name = "agent"

    def __init__(self) -> None:
        self.ctx: ExtensionContext | None = None
        self.sources: _TableSources | None = None
        self.dp: Datapath | None = None
        self.path: PacketPath | None = None
        self.backend: str | None = None

    def setup(self, ctx: ExtensionContext) -> None:
        """Keep the context, add the routes."""
        self.ctx = ctx
        ctx.app.router.add_get("/v1/flows", self._get_flows)
        ctx.app.router.add_get("/v1/agent", self._get_agent)

    async def start(self) -> None:
        """Open the datapath and start the packet path (if a datapath is configured)."""
        assert self.ctx is not None
        cfg = agent_config(self.ctx.config)
        self.backend = choose(cfg.datapath)
        if self.backend == "off":
            return
        self.sources = src = _TableSources(self.ctx)
        self.dp = await open_datapath(self.backend, cfg.datapath_name)
        self.path = path = PacketPath(self.dp, self.ctx.host_id, src, cfg.path())
        for table in src.tables.values():
            table.subscribe(path.topology_changed)
        src.macs.subscribe(path.macs_changed)
        src.arps.subscribe(path.arps_changed)
        try:
            await path.start()
        except BaseException:
            await self.dp.close()
            raise
        self.ctx.register_metrics(path.counters)  # agent_* at GET /metrics
        self.ctx.create_task(_prune_loop(src, cfg.mac_prune_interval))
        log.info("agent packet path running on the %s datapath", self.backend)

    async def stop(self) -> None:
        """Stop the packet path and close (destroy) the datapath."""
        if self.path is not None:
            await self.path.stop()
        if self.dp is not None:
            await self.dp.close()

    async def _get_flows(self, request: web.Request) -> web.Response:
        if self.path is None:
            return web.json_response({"error": "packet path is off"}, status=503)
        return web.json_response(await self.path.flows_json())

    async def _get_agent(self, request: web.Request) -> web.Response:
        if self.path is None:
            return web.json_response({"active": False})
        body: dict[str, object] = {"active": True, "backend": self.backend}
        body.update(self.path.status_json())
        return web.json_response(body)
