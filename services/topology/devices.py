"""Bridges (L2 switches) and routers (L3), the two device kinds ports attach to."""

from __future__ import annotations

from dataclasses import dataclass

from services.topology.base import TopologyObject
from services.topology.fields import COMMON, f, opt_uuid_f, p_bool

_DEVICE_SPEC = (
    *COMMON,
    opt_uuid_f("inbound_chain_id"),
    opt_uuid_f("outbound_chain_id"),
    f("admin_state_up", p_bool, default=True),
)


@dataclass(frozen=True, slots=True)
class Bridge(TopologyObject):
    """A virtual L2 switch with MAC learning and flooding."""

    SPEC = _DEVICE_SPEC
    KIND = "bridges"
    id: str
    tenant_id: str
    name: str = ""
    inbound_chain_id: str | None = None
    outbound_chain_id: str | None = None
    admin_state_up: bool = True


@dataclass(frozen=True, slots=True)
class Router(TopologyObject):
    """A virtual IPv4 router with a route table and per-port addresses."""

    SPEC = _DEVICE_SPEC
    KIND = "routers"
    id: str
    tenant_id: str
    name: str = ""
    inbound_chain_id: str | None = None
    outbound_chain_id: str | None = None
    admin_state_up: bool = True
