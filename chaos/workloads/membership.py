"""The `membership` workload: every agent's GET /v1/members, about once a second each."""

from __future__ import annotations

import asyncio

from chaos.history import MEMBERS, OK, Json
from chaos.workloads.context import Context

EVERY = 1.0


def member_states(body: object) -> dict[str, Json]:
    """{host: state} from a GET /v1/members answer."""
    out: dict[str, Json] = {}
    if isinstance(body, list):
        for m in body:
            if isinstance(m, dict) and isinstance(m.get("id"), str):
                out[m["id"]] = str(m.get("state"))
    return out


class MembershipWorkload:
    name = "membership"

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    async def run(self) -> None:
        tasks = [asyncio.create_task(self._observe(h)) for h in self.ctx.hosts]
        try:
            await asyncio.gather(*tasks)
        finally:
            for t in tasks:
                t.cancel()

    async def _observe(self, host: str) -> None:
        ctx = self.ctx
        process = ctx.process()
        await ctx.sleep(ctx.rng.random() * EVERY)  # spread the observers over the second
        while not ctx.stop.is_set():
            ans = await ctx.client.call(host, "GET", "/v1/members", timeout=1.0)
            if ans.ok:
                value: Json = {"observer": host, "members": member_states(ans.body)}
                ctx.recorder.op(process, OK, MEMBERS, value, node=host)
            if not await ctx.sleep(EVERY):
                break
