"""Port groups (membership lives on ports) and IP address groups (sets of prefixes)."""

from __future__ import annotations

from dataclasses import dataclass

from services.topology.addr import Cidr
from services.topology.base import TopologyObject
from services.topology.fields import CIDRS, field


@dataclass(frozen=True, slots=True, kw_only=True)
class PortGroup(TopologyObject):
    """A named set of ports; a port joins by listing the group in its port_group_ids."""

    KIND = "port_groups"


@dataclass(frozen=True, slots=True, kw_only=True)
class IpAddressGroup(TopologyObject):
    """A named set of IPv4 addresses or prefixes, used by rule conditions."""

    KIND = "ip_address_groups"
    addresses: tuple[Cidr, ...] = field(CIDRS, default=())
