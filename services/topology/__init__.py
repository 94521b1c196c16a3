"""The virtual topology: validated device values and the indexed `Topology` snapshot."""

from services.topology.addr import Cidr, format_ip, format_mac, parse_ip, parse_mac
from services.topology.errors import ValidationError
from services.topology.model import (
    KINDS,
    Bridge,
    Chain,
    IpAddressGroup,
    Port,
    PortBinding,
    PortGroup,
    Route,
    Router,
    Rule,
)
from services.topology.snapshot import Topology

__all__ = [
    "KINDS",
    "Bridge",
    "Chain",
    "Cidr",
    "IpAddressGroup",
    "Port",
    "PortBinding",
    "PortGroup",
    "Route",
    "Router",
    "Rule",
    "Topology",
    "ValidationError",
    "format_ip",
    "format_mac",
    "parse_ip",
    "parse_mac",
]
