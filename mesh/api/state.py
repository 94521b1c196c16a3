"""What the API routes read (ApiState) and the application key it is stored under: its own
module, so the route modules and app.py import it rather than each other."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol

from aiohttp import web
from prometheus_client import CollectorRegistry

from mesh.member import Member
from mesh.table import Table


class MemberSource(Protocol):
    """What the API reads of the node: its member list (a MeshNode satisfies it)."""

    def members(self) -> list[Member]: ...


@dataclass(eq=False)
class ApiState:
    """What the routes read: the node, its "kv" table, the clock, and a hook to call after
    writes."""

    node: MemberSource
    kv: Table
    host_id: str
    clock: Callable[[], float]
    """The shell's clock (the one that drives the node): local writes are stamped with it."""
    on_write: Callable[[], None] = lambda: None
    durable: Callable[[], Awaitable[None]] | None = None
    """Wait until the local writes made so far are on disk (None: no data dir)."""
    replicated: Callable[[int, float], Awaitable[int]] | None = None
    """Wait until n other members hold the local writes made so far (n, timeout)."""
    max_body_bytes: int = 64 * 1024
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)


STATE: web.AppKey[ApiState] = web.AppKey("mesh_api_state")


def api_state(request: web.Request) -> ApiState:
    """The ApiState of the app serving `request`."""
    return request.app[STATE]
