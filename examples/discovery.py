"""Service discovery with health: each process runs a tiny TCP service, registers its
endpoint in the replicated table "endpoints", and prints the endpoints it would use: those
whose member is alive (``m.members()``) and whose port answers a health probe.

    python examples/discovery.py web-1 --bind 127.0.0.1:7201
    python examples/discovery.py web-2 --bind 127.0.0.1:7202 --seed 127.0.0.1:7201
    python examples/discovery.py web-3 --bind 127.0.0.1:7203 --seed 127.0.0.1:7201

Stop one (Ctrl-C): it withdraws its endpoint and leaves; the others drop it at once. Kill
one (SIGKILL): its member turns suspect, then dead, and the probe fails meanwhile, so the
others stop using it before membership has decided. ``--until N`` exits 0 once N healthy
endpoints are seen (the tests use it).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys

from crdt import LWWRegister, ORMap
from mesh import ConfigError, MemberState, Mesh, MeshError, ReplicationTimeout

PROBE_TIMEOUT = 0.5


def endpoints_table() -> ORMap:
    return ORMap(LWWRegister)


async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """The "service": answers ``ok`` to anyone who connects (the health probe)."""
    writer.write(b"ok\n")
    with contextlib.suppress(OSError):
        await writer.drain()
    writer.close()


async def healthy(address: str) -> bool:
    host, _, port = address.rpartition(":")
    try:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(host, int(port)), PROBE_TIMEOUT
        )
        line = await asyncio.wait_for(reader.readline(), PROBE_TIMEOUT)
        writer.close()
        return line == b"ok\n"
    except (OSError, TimeoutError, ValueError):
        return False


async def usable(m: Mesh, endpoints: object) -> list[str]:
    """Endpoints whose member is alive and whose service answers."""
    if not isinstance(endpoints, dict):
        return []
    alive = {x.meta.host_id for x in m.members() if x.state is MemberState.ALIVE}
    candidates = [
        (str(owner), str(addr))
        for owner, addr in sorted(endpoints.items(), key=lambda kv: str(kv[0]))
        if owner in alive and isinstance(addr, str)
    ]
    checks = await asyncio.gather(*(healthy(addr) for _owner, addr in candidates))
    return [f"{owner}@{addr}" for (owner, addr), ok in zip(candidates, checks, strict=True) if ok]


async def run(args: argparse.Namespace) -> int:
    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    service = f"127.0.0.1:{server.sockets[0].getsockname()[1]}"
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        async with Mesh(args.name, bind=args.bind, seeds=args.seed, config="local") as m:
            print(f"[{args.name}] gossip on {m.address}, service on {service}", flush=True)
            endpoints = m.table("endpoints", endpoints_table)
            endpoints.put(args.name, service)
            last: list[str] | None = None
            try:
                while not stop.is_set():
                    now = await usable(m, endpoints.get())
                    if now != last:
                        print(f"[{args.name}] healthy: {', '.join(now) or '(none)'}", flush=True)
                        last = now
                    if args.until and len(now) >= args.until:
                        print(f"[{args.name}] sees {len(now)} healthy endpoints", flush=True)
                        await asyncio.sleep(args.linger)  # let the others see us too
                        return 0
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), args.interval)
            finally:
                endpoints.delete(args.name)  # withdraw before leaving
                others = [x for x in m.members() if x.state is MemberState.ALIVE]
                if len(others) > 1:
                    with contextlib.suppress(ReplicationTimeout):
                        await m.wait_replicated(1, timeout=1.0)
    finally:
        server.close()
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description="Service discovery with health on a mesh.Mesh.")
    ap.add_argument("name", help="this member's host id (and service instance name)")
    ap.add_argument("--bind", default="127.0.0.1:0", help="gossip HOST:PORT (0: any port)")
    ap.add_argument("--seed", action="append", default=[], help="HOST:PORT of a member")
    ap.add_argument("--interval", type=float, default=0.5, help="seconds between checks")
    ap.add_argument("--until", type=int, default=0, help="exit 0 once N endpoints are healthy")
    ap.add_argument("--linger", type=float, default=2.0, help="seconds to stay after --until")
    args = ap.parse_args()
    try:
        return asyncio.run(run(args))
    except ConfigError as exc:
        print(f"discovery: {exc}", file=sys.stderr)
        return 2
    except MeshError as exc:
        print(f"discovery: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
