"""Convergence readings: after each heal, every agent's kv, topology and member-list digests
about every half second until all agree (and, after the final heal, until the run ends)."""

from __future__ import annotations

import asyncio
import hashlib

from chaos.history import OK, STATE, Json, canonical_json, topology_digest
from chaos.workloads.context import Context
from chaos.workloads.membership import member_states
from chaos.workloads.topology import KINDS

EVERY = 0.5
"""Seconds between two rounds of readings (each round is 8 requests per agent)."""


def digest(value: Json) -> str:
    return hashlib.sha256(canonical_json(value).encode()).hexdigest()


class Convergence:
    name = "convergence"

    def __init__(self, ctx: Context, topology: bool, record: bool = True) -> None:
        self.ctx = ctx
        self.topology = topology
        self.record = record
        self._task: asyncio.Task[None] | None = None
        self._process = {h: ctx.process() for h in ctx.hosts}

    def healed(self, final: bool) -> None:
        """Called by the nemesis after each heal: (re)start the readings."""
        if self._task is not None and not self._task.done():
            self._task.cancel()
        self._task = asyncio.get_running_loop().create_task(self._read(final))

    async def _read(self, final: bool) -> None:
        ctx = self.ctx
        while not ctx.stop.is_set():
            got = await asyncio.gather(*(self._one(h) for h in ctx.hosts))
            readings = [g for g in got if g is not None]
            agreed = len(readings) == len(ctx.hosts) and len(set(readings)) == 1
            if agreed and not final:
                return
            if not await ctx.sleep(EVERY if not agreed else 2 * EVERY):
                return

    async def _one(self, host: str) -> tuple[str, str, str] | None:
        c = self.ctx.client
        kv = await c.call(host, "GET", "/v1/kv", timeout=3)
        members = await c.call(host, "GET", "/v1/members", timeout=3)
        if not (kv.ok and members.ok):
            return None
        value: dict[str, Json] = {
            "agent": host,
            "kv": digest(kv.body),
            "members": digest(member_states(members.body)),
        }
        if self.topology:
            objs: dict[str, dict[str, dict[str, Json]]] = {}
            for kind in KINDS:
                ans = await c.call(host, "GET", f"/v1/{kind}", timeout=3)
                if not ans.ok or not isinstance(ans.body, list):
                    return None
                objs[kind] = {str(o["id"]): o for o in ans.body if isinstance(o, dict)}
            value["topology"] = topology_digest(objs)
        if self.record:
            self.ctx.recorder.op(self._process[host], OK, STATE, value, node=host)
        return (str(value["kv"]), str(value["members"]), str(value.get("topology", "")))

    async def settle(self, timeout: float) -> bool:
        """After the workloads stopped: read until every agent agrees (or `timeout`), so
        the final reads do not race the last writes' gossip. True if they agreed."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            got = await asyncio.gather(*(self._one(h) for h in self.ctx.hosts))
            if all(g is not None for g in got) and len(set(got)) == 1:
                return True
            await asyncio.sleep(EVERY)
        return False

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
