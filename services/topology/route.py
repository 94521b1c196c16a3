"""Static routes of a router: normal (to a port, maybe via a gateway), blackhole, reject."""

from __future__ import annotations

from dataclasses import dataclass

from services.topology.addr import Cidr
from services.topology.base import TopologyObject
from services.topology.errors import ValidationError
from services.topology.fields import (
    COMMON,
    d_opt,
    d_str,
    dump_ip,
    f,
    opt_uuid_f,
    p_cidr,
    p_enum,
    p_int,
    p_ip,
    p_opt,
    uuid_f,
)

ROUTE_TYPES = ("normal", "blackhole", "reject")
ANY_SRC = Cidr(0, 0)


@dataclass(frozen=True, slots=True)
class Route(TopologyObject):
    """dst/src prefixes select the route; ties among equal prefixes are ECMP by weight."""

    SPEC = (
        *COMMON,
        uuid_f("router_id"),
        f("dst", p_cidr, d_str),
        f("src", p_cidr, d_str, default=ANY_SRC),
        opt_uuid_f("next_hop_port"),
        f("next_hop_gw", p_opt(p_ip), d_opt(dump_ip), default=None),
        f("type", p_enum(*ROUTE_TYPES), default="normal"),
        f("weight", p_int(1, 65535), default=100),
    )
    KIND = "routes"
    id: str
    tenant_id: str
    router_id: str
    dst: Cidr
    name: str = ""
    src: Cidr = ANY_SRC
    next_hop_port: str | None = None
    next_hop_gw: int | None = None
    type: str = "normal"
    weight: int = 100

    def __post_init__(self) -> None:
        if self.type == "normal" and self.next_hop_port is None:
            raise ValidationError("next_hop_port", "required for a normal route")
