"""asyncio face of ZkMembership for meshd: blocking calls in an executor, changes on the loop."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from mesh.zk.client import ZkClient
from mesh.zk.membership import ChangeCallback, Members, ZkMembership
from mesh.zk.paths import DEFAULT_ROOT


class AsyncZkMembership:
    """Wraps a ZkMembership; on_change callbacks run in the event loop's thread."""

    def __init__(
        self,
        hosts: str | ZkClient,
        host_id: str,
        meta: dict[str, Any],
        *,
        root: str = DEFAULT_ROOT,
        session_timeout: float = 10.0,
    ) -> None:
        self.sync = ZkMembership(hosts, host_id, meta, root=root, session_timeout=session_timeout)
        self._loop: asyncio.AbstractEventLoop | None = None

    async def start(self) -> None:
        """Connect and register (ZkError on failure) without blocking the loop."""
        self._loop = asyncio.get_running_loop()
        await self._loop.run_in_executor(None, self.sync.start)

    async def stop(self) -> None:
        await asyncio.get_running_loop().run_in_executor(None, self.sync.stop)

    async def update_meta(self, meta: dict[str, Any]) -> None:
        await asyncio.get_running_loop().run_in_executor(None, self.sync.update_meta, meta)

    def members(self) -> Members:
        return self.sync.members()

    @property
    def connected(self) -> bool:
        return self.sync.connected

    def on_change(self, cb: ChangeCallback) -> Callable[[], None]:
        """Call cb(members) in the loop's thread on every change; returns unsubscribe."""
        loop = self._loop or asyncio.get_running_loop()

        def deliver(members: Members) -> None:
            if not loop.is_closed():
                loop.call_soon_threadsafe(cb, members)

        return self.sync.on_change(deliver)

    async def wait_for(self, predicate: Callable[[Members], bool], timeout: float) -> Members:
        """Wait until predicate(members) holds (asyncio.TimeoutError after timeout)."""
        changed = asyncio.Event()
        unsubscribe = self.on_change(lambda _m: changed.set())
        try:
            async with asyncio.timeout(timeout):
                while True:
                    changed.clear()
                    current = self.members()
                    if predicate(current):
                        return current
                    await changed.wait()
        finally:
            unsubscribe()
