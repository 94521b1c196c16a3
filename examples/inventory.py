"""A replicated inventory: run it three times (three processes, one command each) and each
prints the whole inventory whenever it changes, local and remote writes alike.

    python examples/inventory.py alpha --bind 127.0.0.1:7101
    python examples/inventory.py beta  --bind 127.0.0.1:7102 --seed 127.0.0.1:7101
    python examples/inventory.py gamma --bind 127.0.0.1:7103 --seed 127.0.0.1:7101

Each member stocks its own item and restocks it every few seconds, and says when another
member joins, fails or leaves; Ctrl-C leaves (the others then print it as left).
``--until N`` exits 0 once items of N members are seen (the tests use it); ``--data-dir``
makes the member's writes durable across restarts; ``--key-file`` encrypts (members with
other keys never see each other's data).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import signal
import sys

from crdt import LWWRegister, ORMap
from mesh import ConfigError, MemberChanged, Mesh, MeshError


def inventory() -> ORMap:
    return ORMap(LWWRegister)


def show(name: str, items: object) -> str:
    if not isinstance(items, dict):
        return f"[{name}] (not a map)"
    listed = ", ".join(f"{k}={items[k]}" for k in sorted(items, key=str))
    return f"[{name}] inventory: {listed or '(empty)'}"


async def run(args: argparse.Namespace) -> int:
    m = Mesh(
        args.name,
        bind=args.bind,
        seeds=args.seed,
        config="local",
        data_dir=args.data_dir,
        key=args.key_file,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with m:
        print(f"[{args.name}] listening on {m.address}", flush=True)
        table = m.table("inventory", inventory)
        mine = f"{args.name}-widgets"
        table.put(mine, random.randint(1, 20))
        await m.flush()
        changes = table.changes()

        async def restock() -> None:
            while True:
                await asyncio.sleep(args.restock)
                table.put(mine, random.randint(1, 20))

        async def membership() -> None:
            async for event in m.events():
                if isinstance(event, MemberChanged) and event.member.meta.host_id != args.name:
                    member = event.member
                    print(
                        f"[{args.name}] member {member.meta.host_id} is {member.state.value}",
                        flush=True,
                    )

        task = asyncio.create_task(restock())
        watcher = asyncio.create_task(membership())
        try:
            print(show(args.name, table.get()), flush=True)
            while not stop.is_set():
                items = table.get()
                if args.until and isinstance(items, dict):
                    owners = {str(k).split("-")[0] for k in items}
                    if len(owners) >= args.until:
                        print(f"[{args.name}] sees {len(owners)} members' items", flush=True)
                        return 0
                waiter = asyncio.ensure_future(anext(changes))
                stopper = asyncio.ensure_future(stop.wait())
                await asyncio.wait({waiter, stopper}, return_when=asyncio.FIRST_COMPLETED)
                stopper.cancel()
                if waiter.done():
                    print(show(args.name, table.get()), flush=True)
                else:
                    waiter.cancel()
        finally:
            for t in (task, watcher):
                t.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await t
            await changes.aclose()
            states = ", ".join(f"{x.meta.host_id}={x.state.value}" for x in m.members())
            print(f"[{args.name}] members: {states}; leaving", flush=True)
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description="A replicated inventory on a mesh.Mesh.")
    ap.add_argument("name", help="this member's host id")
    ap.add_argument("--bind", default="127.0.0.1:0", help="HOST:PORT (port 0: any free port)")
    ap.add_argument("--seed", action="append", default=[], help="HOST:PORT of a member")
    ap.add_argument("--data-dir", help="make this member's writes durable here")
    ap.add_argument("--key-file", help="gossip key file (members with other keys stay apart)")
    ap.add_argument("--restock", type=float, default=3.0, help="seconds between restocks")
    ap.add_argument("--until", type=int, default=0, help="exit 0 once N members' items show")
    args = ap.parse_args()
    try:
        return asyncio.run(run(args))
    except ConfigError as exc:
        print(f"inventory: {exc}", file=sys.stderr)
        return 2
    except MeshError as exc:
        print(f"inventory: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
