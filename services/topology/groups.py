"""Port groups (membership lives on ports) and IP address groups (sets of prefixes)."""

from __future__ import annotations

from dataclasses import dataclass

from services.topology.addr import Cidr
from services.topology.base import TopologyObject
from services.topology.fields import COMMON, d_list, d_str, f, p_cidrs


@dataclass(frozen=True, slots=True)
class PortGroup(TopologyObject):
    """A named set of ports; a port joins by listing the group in its port_group_ids."""

    SPEC = COMMON
    KIND = "port_groups"
    id: str
    tenant_id: str
    name: str = ""


@dataclass(frozen=True, slots=True)
class IpAddressGroup(TopologyObject):
    """A named set of IPv4 addresses or prefixes, used by rule conditions."""

    SPEC = (*COMMON, f("addresses", p_cidrs, d_list(d_str), default=()))
    KIND = "ip_address_groups"
    id: str
    tenant_id: str
    name: str = ""
    addresses: tuple[Cidr, ...] = ()
