"""asyncio face of LeaseManager: blocking ZooKeeper calls in an executor, on_lost on the loop."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable

from mesh.zk.client import ZkClient
from mesh.zk.lease import Lease, LeaseManager
from mesh.zk.paths import DEFAULT_LEASE_ROOT


class AsyncLeaseManager:
    """Wraps a LeaseManager; on_lost callbacks run in the event loop's thread."""

    def __init__(
        self,
        client_or_hosts: str | ZkClient,
        *,
        root: str = DEFAULT_LEASE_ROOT,
        holder: str | None = None,
        session_timeout: float = 10.0,
    ) -> None:
        self.sync = LeaseManager(
            client_or_hosts, root=root, holder=holder, session_timeout=session_timeout
        )

    async def _run(self, fn: Callable[..., object], *args: object) -> object:
        return await asyncio.get_running_loop().run_in_executor(None, functools.partial(fn, *args))

    def _on_loop(self, on_lost: Callable[[Lease], None] | None) -> Callable[[Lease], None] | None:
        if on_lost is None:
            return None
        loop = asyncio.get_running_loop()

        def deliver(lease: Lease) -> None:
            if not loop.is_closed():
                loop.call_soon_threadsafe(on_lost, lease)

        return deliver

    async def start(self) -> None:
        await self._run(self.sync.start)

    async def close(self) -> None:
        await self._run(self.sync.close)

    async def acquire(
        self, name: str, ttl: float, on_lost: Callable[[Lease], None] | None = None
    ) -> Lease | None:
        lease = await self._run(self.sync.acquire, name, ttl, self._on_loop(on_lost))
        assert lease is None or isinstance(lease, Lease)
        return lease

    async def acquire_wait(
        self,
        name: str,
        ttl: float,
        timeout: float,
        on_lost: Callable[[Lease], None] | None = None,
    ) -> Lease | None:
        lease = await self._run(self.sync.acquire_wait, name, ttl, timeout, self._on_loop(on_lost))
        assert lease is None or isinstance(lease, Lease)
        return lease

    async def renew(self, lease: Lease) -> bool:
        return bool(await self._run(lease.renew))

    async def release(self, lease: Lease) -> None:
        await self._run(lease.release)

    def held(self) -> dict[str, Lease]:
        return self.sync.held()
