"""Bridges (L2 switches) and routers (L3), the two device kinds ports attach to."""

from __future__ import annotations

from dataclasses import dataclass

from services.topology.base import TopologyObject
from services.topology.fields import BOOL, UUID, field, opt


@dataclass(frozen=True, slots=True, kw_only=True)
class Device(TopologyObject):
    """What bridges and routers share: chains at the device and the admin state."""

    inbound_chain_id: str | None = field(opt(UUID), default=None, refs=("chains",))
    outbound_chain_id: str | None = field(opt(UUID), default=None, refs=("chains",))
    admin_state_up: bool = field(BOOL, default=True)


@dataclass(frozen=True, slots=True, kw_only=True)
class Bridge(Device):
    """A virtual L2 switch with MAC learning and flooding."""

    KIND = "bridges"


@dataclass(frozen=True, slots=True, kw_only=True)
class Router(Device):
    """A virtual IPv4 router with a route table and per-port addresses."""

    KIND = "routers"
