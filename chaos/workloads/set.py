"""The `set` workload: unique adds through random agents' kv API (key chaos/set/<element>)
and periodic full reads; after the quiet period one read on every agent (docs/chaos.md)."""

from __future__ import annotations

import asyncio
import itertools
import time

from chaos.history import ADD, FAIL, INFO, INVOKE, OK, READ
from chaos.workloads.context import Context

PREFIX = "chaos/set/"
CLIENTS = 3
"""Concurrent adders: enough to keep several writes in flight on different agents."""
ADD_GAP = 0.1
"""Seconds a client waits between two adds (about 25 adds/s in all: modest CPU)."""
READ_EVERY = 2.0
"""Seconds between two full reads (each returns every element: cost grows with the run)."""


def elements(body: object) -> list[int]:
    """The set's elements in a GET /v1/kv answer."""
    out: list[int] = []
    if isinstance(body, dict):
        for key in body:
            if isinstance(key, str) and key.startswith(PREFIX):
                tail = key[len(PREFIX) :]
                if tail.isdigit():
                    out.append(int(tail))
    return sorted(out)


class SetWorkload:
    name = "set"

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self._next = itertools.count(1)
        self.acked = 0

    async def run(self) -> None:
        tasks = [asyncio.create_task(self._adder()) for _ in range(CLIENTS)]
        tasks.append(asyncio.create_task(self._reader()))
        try:
            await asyncio.gather(*tasks)
        finally:
            for t in tasks:
                t.cancel()

    async def _adder(self) -> None:
        ctx = self.ctx
        process = ctx.process()
        while not ctx.stop.is_set():
            host = ctx.rng.choice(ctx.hosts)
            element = next(self._next)
            ctx.recorder.op(process, INVOKE, ADD, element, node=host)
            ans = await ctx.client.call(host, "PUT", f"/v1/kv/{PREFIX}{element}", element)
            if ans.ok:
                ctx.acked(host, time.monotonic())
                ctx.recorder.op(process, OK, ADD, element, node=host)
                self.acked += 1
            elif ans.definite:
                err = ans.error or f"{ans.status}"
                ctx.recorder.op(process, FAIL, ADD, element, node=host, error=err)
            else:
                err = ans.error or f"{ans.status}"
                ctx.recorder.op(process, INFO, ADD, element, node=host, error=err)
                # Jepsen: a process with an indeterminate op is retired; use a fresh one
                process = ctx.process()
            if not await ctx.sleep(ADD_GAP):
                break

    async def _reader(self) -> None:
        ctx = self.ctx
        process = ctx.process()
        while await ctx.sleep(READ_EVERY):
            process = await self.read(process, ctx.rng.choice(ctx.hosts))

    async def read(self, process: int, host: str, timeout: float | None = None) -> int:
        """One full read on `host`; returns the process number to use next."""
        ctx = self.ctx
        ctx.recorder.op(process, INVOKE, READ, None, node=host)
        ans = await ctx.client.call(host, "GET", "/v1/kv", timeout=timeout)
        if ans.ok:
            ctx.recorder.op(process, OK, READ, elements(ans.body), node=host)
            return process
        err = ans.error or f"{ans.status}"
        ctx.recorder.op(process, FAIL, READ, None, node=host, error=err)
        return process

    async def final(self) -> None:
        """One read on every agent (after the quiet period), retried until it answers."""
        ctx = self.ctx
        for host in ctx.hosts:
            process = ctx.process()
            for _ in range(5):
                ctx.recorder.op(process, INVOKE, READ, None, node=host)
                ans = await ctx.client.call(host, "GET", "/v1/kv", timeout=10)
                if ans.ok:
                    ctx.recorder.op(process, OK, READ, elements(ans.body), node=host)
                    break
                ctx.recorder.op(process, FAIL, READ, None, node=host, error=ans.error)
                await asyncio.sleep(1)
