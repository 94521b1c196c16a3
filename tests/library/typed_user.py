"""A small user program of the public API, type-checked by test_typed.py with
``mypy --strict --disallow-any-expr``: no Any may leak into it from mesh or crdt."""

from __future__ import annotations

import asyncio

import mesh
from crdt import AWSet, LWWRegister, ORMap


def inventory() -> ORMap:
    return ORMap(LWWRegister)


async def main() -> int:
    async with mesh.Mesh("user", bind="127.0.0.1:0", config="local") as m:
        address: str = m.address
        table = m.table("inventory", inventory)
        tags = m.table("tags", AWSet)
        table.put("apples", 3)
        tags.mutate(lambda s: s.add(tags.replica_id, "fruit"))
        table.delete("apples")
        await m.flush()
        value: object = table.get("apples")
        if isinstance(value, int):
            print(value + 1)
        await table.wait(lambda t: "apples" not in t, timeout=1.0)
        changes = table.changes()
        await changes.aclose()
        for member in m.members():
            state: mesh.MemberState = member.state
            print(member.meta.host_id, state.value, member.incarnation, address)
        events = m.events()
        await events.aclose()
        async for event in m.events():
            if isinstance(event, mesh.TableChanged):
                print(event.table, sorted(map(str, event.keys)))
            elif isinstance(event, mesh.MemberChanged):
                print(event.member.meta.host_id)
            break
        counts: dict[str, float] = m.metrics()
        print(counts.get("drops.auth", 0.0), mesh.__version__)
        try:
            await m.wait_replicated(1, timeout=0.1)
        except mesh.ReplicationTimeout as exc:
            print(exc.held, exc.wanted)
    try:
        mesh.Mesh("x", bind="bad:port")
    except mesh.ConfigError as exc:
        print(exc.field)
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
