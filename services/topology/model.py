"""All topology object kinds, and the replicated table that holds each kind."""

from __future__ import annotations

from services.topology.base import TopologyObject
from services.topology.devices import Bridge, Router
from services.topology.groups import IpAddressGroup, PortGroup
from services.topology.port import Port, PortBinding
from services.topology.route import Route
from services.topology.rule import Chain, Rule

#: kind name (also the replicated table suffix) -> value class
KINDS: dict[str, type[TopologyObject]] = {
    model.KIND: model
    for model in (Bridge, Router, Port, Route, Chain, Rule, PortGroup, IpAddressGroup)
}

__all__ = [
    "KINDS",
    "Bridge",
    "Chain",
    "IpAddressGroup",
    "Port",
    "PortBinding",
    "PortGroup",
    "Route",
    "Router",
    "Rule",
    "TopologyObject",
]
