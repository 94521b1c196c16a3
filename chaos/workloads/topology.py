"""The `topology` workload: concurrent creates, updates and deletes of ports, routes and
rules through random agents, on a scratch tenant that carries no traffic; the final `digest`
read on every agent. Also the logged API writes the traffic network is built with, so the
topology checker knows every object an agent lists."""

from __future__ import annotations

import asyncio
from typing import Any

from chaos.history import (
    CREATE,
    DELETE,
    DIGEST,
    FAIL,
    INFO,
    INVOKE,
    OK,
    UPDATE,
    Json,
    topology_digest,
)
from chaos.workloads.context import Context

KINDS = ("bridges", "routers", "ports", "routes", "chains", "rules")
"""Collections the suite writes, and so the ones a digest read lists."""
TENANT = "chaos-scratch"
CLIENTS = 2
OP_GAP = 0.4
"""Seconds between two operations of one client (a few topology writes a second)."""
CREATED = 201


class TopologyWriter:
    """Logged writes: each API call is an invoke and its ok / fail / info."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    async def create(
        self, process: int, host: str, kind: str, fields: dict[str, Any]
    ) -> tuple[int, dict[str, Any] | None]:
        """POST; returns the process to use next and the created object (None if not)."""
        rec = self.ctx.recorder
        rec.op(process, INVOKE, CREATE, {"kind": kind, "fields": fields}, node=host)
        ans = await self.ctx.client.call(host, "POST", f"/v1/{kind}", fields)
        if ans.ok and isinstance(ans.body, dict) and "id" in ans.body:
            out = {"kind": kind, "id": ans.body["id"], "fields": ans.body}
            rec.op(process, OK, CREATE, out, node=host)
            return process, ans.body
        return self._failed(process, host, CREATE, ans), None

    async def update(
        self, process: int, host: str, kind: str, oid: str, fields: dict[str, Any]
    ) -> tuple[int, bool]:
        rec = self.ctx.recorder
        value: Json = {"kind": kind, "id": oid, "fields": fields}
        rec.op(process, INVOKE, UPDATE, value, node=host)
        ans = await self.ctx.client.call(host, "PATCH", f"/v1/{kind}/{oid}", fields)
        if ans.ok:
            rec.op(process, OK, UPDATE, value, node=host)
            return process, True
        return self._failed(process, host, UPDATE, ans), False

    async def delete(self, process: int, host: str, kind: str, oid: str) -> tuple[int, bool]:
        rec = self.ctx.recorder
        value: Json = {"kind": kind, "id": oid}
        rec.op(process, INVOKE, DELETE, value, node=host)
        ans = await self.ctx.client.call(host, "DELETE", f"/v1/{kind}/{oid}")
        if ans.ok:
            rec.op(process, OK, DELETE, value, node=host)
            return process, True
        return self._failed(process, host, DELETE, ans), False

    def _failed(self, process: int, host: str, f: str, ans: Any) -> int:
        err = ans.error or f"{ans.status} {ans.body}"[:200]
        if ans.definite:
            self.ctx.recorder.op(process, FAIL, f, None, node=host, error=err)
            return process
        self.ctx.recorder.op(process, INFO, f, None, node=host, error=err)
        return self.ctx.process()  # an indeterminate op retires its process

    async def must_create(self, host: str, kind: str, fields: dict[str, Any]) -> dict[str, Any]:
        """A setup create (retried a few times; raises if it never succeeds)."""
        process = self.ctx.process()
        for _ in range(5):
            process, obj = await self.create(process, host, kind, fields)
            if obj is not None:
                return obj
            await asyncio.sleep(0.5)
        raise RuntimeError(f"could not create {kind} {fields} through {host}")

    async def must_post(self, host: str, path: str, body: dict[str, Any]) -> None:
        """A setup call that is not a create (a port link); raises if refused."""
        ans = await self.ctx.client.call(host, "POST", path, body)
        if not ans.ok:
            raise RuntimeError(f"POST {path} on {host}: {ans.status} {ans.body} {ans.error}")


class TopologyWorkload:
    name = "topology"

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.writer = TopologyWriter(ctx)
        self.ids: dict[str, list[str]] = {"ports": [], "routes": [], "rules": []}
        self._n = 0
        self._scratch: dict[str, str] = {}

    async def setup(self) -> None:
        host = self.ctx.hosts[0]
        w = self.writer
        bridge = await w.must_create(host, "bridges", {"tenant_id": TENANT, "name": "scratch"})
        router = await w.must_create(host, "routers", {"tenant_id": TENANT, "name": "scratch-r"})
        chain = await w.must_create(host, "chains", {"tenant_id": TENANT, "name": "scratch-c"})
        self._scratch = {"bridge": bridge["id"], "router": router["id"], "chain": chain["id"]}

    async def run(self) -> None:
        tasks = [asyncio.create_task(self._client()) for _ in range(CLIENTS)]
        try:
            await asyncio.gather(*tasks)
        finally:
            for t in tasks:
                t.cancel()

    async def _client(self) -> None:
        ctx = self.ctx
        process = ctx.process()
        while await ctx.sleep(OP_GAP * (0.5 + ctx.rng.random())):
            process = await self._one(process)

    async def _one(self, process: int) -> int:
        ctx, w, s = self.ctx, self.writer, self._scratch
        host = ctx.rng.choice(ctx.hosts)
        kind = ctx.rng.choice(("ports", "routes", "rules"))
        known = self.ids[kind]
        action = ctx.rng.choices(("create", "update", "delete"), (5, 4, 2))[0]
        if action == "create" or not known:
            self._n += 1
            n = self._n
            if kind == "ports":
                fields: dict[str, Any] = {"tenant_id": TENANT, "device_id": s["bridge"],
                                          "name": f"p{n}"}
            elif kind == "routes":
                fields = {"tenant_id": TENANT, "router_id": s["router"], "type": "blackhole",
                          "dst": f"172.31.{n % 250}.0/24", "name": f"r{n}"}
            else:
                fields = {"tenant_id": TENANT, "chain_id": s["chain"], "position": n,
                          "action": "accept", "proto": "tcp", "dst_port": [n % 60000 + 1] * 2}
            process, obj = await w.create(process, host, kind, fields)
            if obj is not None:
                known.append(str(obj["id"]))
            return process
        oid = ctx.rng.choice(known)
        if action == "update":
            if kind == "ports":
                fields = ctx.rng.choice(({"name": f"p-{self._n}"},
                                         {"admin_state_up": ctx.rng.random() < 0.5}))
            elif kind == "routes":
                fields = {"weight": ctx.rng.randint(1, 100)}
            else:
                fields = ctx.rng.choice(({"position": ctx.rng.randint(1, 1000)},
                                         {"action": ctx.rng.choice(("accept", "drop"))}))
            process, _ = await w.update(process, host, kind, oid, fields)
            return process
        process, done = await w.delete(process, host, kind, oid)
        if done and oid in known:
            known.remove(oid)
        return process

    async def objects(self, host: str) -> dict[str, dict[str, dict[str, Json]]] | None:
        """Every object `host` lists, by kind and id (None if an agent did not answer)."""
        out: dict[str, dict[str, dict[str, Json]]] = {}
        for kind in KINDS:
            ans = await self.ctx.client.call(host, "GET", f"/v1/{kind}", timeout=10)
            if not ans.ok or not isinstance(ans.body, list):
                return None
            out[kind] = {str(o["id"]): o for o in ans.body if isinstance(o, dict) and "id" in o}
        return out

    async def final(self) -> None:
        """The `digest` read on every agent (retried until it answers)."""
        ctx = self.ctx
        for host in ctx.hosts:
            process = ctx.process()
            for _ in range(5):
                ctx.recorder.op(process, INVOKE, DIGEST, None, node=host)
                objs = await self.objects(host)
                if objs is not None:
                    value: Json = {"agent": host, "digest": topology_digest(objs),
                                   "objects": objs}
                    ctx.recorder.op(process, OK, DIGEST, value, node=host)
                    break
                ctx.recorder.op(process, FAIL, DIGEST, None, node=host, error="no answer")
                await asyncio.sleep(1)
