"""Test-only extensions loaded by meshd through ``--extension MODULE:ATTR``."""

from __future__ import annotations

from aiohttp import web

from crdt import GCounter
from mesh.counters import CounterDef, Counters
from mesh.extension import BaseExtension, ExtensionContext, TableSpec


class CounterExtension(BaseExtension):
    """A replicated counter table "hits" with routes POST/GET /v1/hits."""

    name = "hits"

    def __init__(self) -> None:
        self.ctx: ExtensionContext | None = None
        self.started = False
        self.counters = Counters("hits", [CounterDef("posts", "POST /v1/hits served here")])

    def tables(self) -> list[TableSpec]:
        return [TableSpec("hits", GCounter)]

    def setup(self, ctx: ExtensionContext) -> None:
        self.ctx = ctx
        ctx.register_metrics(self.counters)
        ctx.app.router.add_post("/v1/hits", self.hit)
        ctx.app.router.add_get("/v1/hits", self.read)
        ctx.app.router.add_get("/v1/hits/info", self.info)

    async def start(self) -> None:
        self.started = True

    async def hit(self, request: web.Request) -> web.Response:
        assert self.ctx is not None
        table = self.ctx.table("hits")
        rid = table.replica_id
        table.mutate(lambda s: s.increment(rid, 1), now=self.ctx.now())
        self.counters.inc("posts")
        self.ctx.notify_written()
        return web.json_response({"value": table.get()})

    async def read(self, request: web.Request) -> web.Response:
        assert self.ctx is not None
        return web.json_response({"value": self.ctx.table("hits").get()})

    async def info(self, request: web.Request) -> web.Response:
        assert self.ctx is not None
        return web.json_response(
            {
                "host_id": self.ctx.host_id,
                "config": dict(self.ctx.config),
                "started": self.started,
                "members": len(self.ctx.members()),
            }
        )


class BrokenExtension(BaseExtension):
    """Fails in setup(): meshd logs it and runs on without it (or exits 2 if required)."""

    name = "broken"

    def setup(self, ctx: ExtensionContext) -> None:
        raise RuntimeError("broken on purpose")
