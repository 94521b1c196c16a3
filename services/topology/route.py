"""Static routes of a router: normal (to a port, maybe via a gateway), blackhole, reject."""

from __future__ import annotations

from dataclasses import dataclass

from services.topology.addr import Cidr
from services.topology.base import TopologyObject
from services.topology.fields import (
    CIDR,
    IP,
    UUID,
    Is,
    Requires,
    check_rules,
    enum,
    field,
    int_range,
    opt,
)

ROUTE_TYPES = ("normal", "blackhole", "reject")
ANY_SRC = Cidr(0, 0)


@dataclass(frozen=True, slots=True, kw_only=True)
class Route(TopologyObject):
    """dst/src prefixes select the route; ties among equal prefixes are ECMP by weight."""

    KIND = "routes"
    CONSTRAINTS = (
        Requires(Is("type", ("normal",)), "next_hop_port", True, "required for a normal route"),
    )
    router_id: str = field(UUID, refs=("routers",))
    dst: Cidr = field(CIDR)
    src: Cidr = field(CIDR, default=ANY_SRC)
    next_hop_port: str | None = field(opt(UUID), default=None, refs=("ports",))
    next_hop_gw: int | None = field(opt(IP), default=None)
    type: str = field(enum(*ROUTE_TYPES), default="normal")
    weight: int = field(int_range(1, 65535), default=100)

    def __post_init__(self) -> None:
        check_rules(self, self.CONSTRAINTS)
