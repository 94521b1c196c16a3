"""Extensions: code that meshd loads (entry-point group ``vnetmesh.extensions``) to add
replicated tables, HTTP routes and background tasks without mesh/ knowing about it.

An extension declares its tables with :meth:`Extension.tables`; meshd creates them on the node,
then calls :meth:`Extension.setup` with an :class:`ExtensionContext` (before the HTTP server
starts, so routes can be added), then awaits :meth:`Extension.start` once the node has joined,
and :meth:`Extension.stop` on shutdown (before the graceful leave).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from aiohttp import web

from crdt import CRDT
from mesh.counters import MetricsSource
from mesh.member import Member
from mesh.table import Table, TableLike

__all__ = [
    "ENTRY_POINT_GROUP",
    "BaseExtension",
    "Extension",
    "ExtensionContext",
    "MeshView",
    "TableLike",
    "TableSpec",
]

ENTRY_POINT_GROUP = "vnetmesh.extensions"

log = logging.getLogger("mesh.extension")


@dataclass(frozen=True, slots=True)
class TableSpec:
    """A replicated table an extension needs: its name and an empty-CRDT factory."""

    name: str
    factory: Callable[[], CRDT]


class MeshView(Protocol):
    """What an extension may use of the running node (a MeshNode satisfies it): its
    members and its tables. Time comes from ``ExtensionContext.now()``."""

    @property
    def replica_id(self) -> str: ...

    def members(self) -> list[Member]: ...


@runtime_checkable
class Extension(Protocol):
    """What meshd expects of an extension object."""

    name: str

    def tables(self) -> list[TableSpec]:
        """Replicated tables to declare on the node before setup()."""
        ...

    def setup(self, ctx: ExtensionContext) -> None:
        """Wire into the agent: keep ``ctx``, add routes under /v1/..., subscribe to tables."""
        ...

    async def start(self) -> None:
        """Called once the node runs and has joined; start background work here."""
        ...

    async def stop(self) -> None:
        """Called on shutdown, before the graceful leave; tasks from create_task are then
        cancelled."""
        ...


class BaseExtension:
    """Convenience base with no tables and no-op start/stop; subclasses set ``name``."""

    name: str = "unnamed"

    def tables(self) -> list[TableSpec]:
        return []

    def setup(self, ctx: ExtensionContext) -> None:
        return None

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None


@dataclass(eq=False)
class ExtensionContext:
    """What an extension may use of the agent."""

    node: MeshView
    """The running node (its members and replica id)."""
    app: web.Application
    """The aiohttp Application: add routes under /v1/<extension>/..."""
    host_id: str
    config: Mapping[str, Any]
    """The extension's ``[extensions.<name>]`` TOML section (``required`` included)."""
    loop: asyncio.AbstractEventLoop
    _tables: Mapping[str, Table]
    _clock: Callable[[], float]
    """The shell's wall clock: the same clock the driver feeds the node."""
    _wake: Callable[[], None] = lambda: None
    _register_metrics: Callable[[MetricsSource], None] = lambda _source: None
    _tasks: set[asyncio.Task[Any]] = field(default_factory=set)

    def table(self, name: str) -> Table:
        """A replicated table declared by this or another extension (or "kv"); its state
        is a :class:`crdt.CRDT`: narrow it with isinstance (or read ``get()``)."""
        try:
            return self._tables[name]
        except KeyError:
            raise KeyError(f"no table {name!r}: declare it in tables()") from None

    def members(self) -> list[Member]:
        """The node's current member list."""
        return list(self.node.members())

    def now(self) -> float:
        """The current time on the node's clock: pass it to table writes (``now=``)."""
        return self._clock()

    def register_metrics(self, source: MetricsSource) -> None:
        """Export ``source``'s samples at GET /metrics (declared counters: mesh.counters)."""
        self._register_metrics(source)

    def notify_written(self) -> None:
        """Tell the transport a local table write happened so it is gossiped promptly."""
        self._wake()

    def create_task(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """Run ``coro`` in the agent's loop; it is cancelled on shutdown; errors are logged."""
        task = self.loop.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error(
                "extension task failed",
                exc_info=task.exception(),
                extra={"fields": {"task": task.get_name()}},
            )

    async def cancel_tasks(self) -> None:
        """Cancel every task started with create_task (called by meshd on shutdown)."""
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
