"""Virtual ports: exterior (bound to a host interface) or interior (peered with a port)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from services.topology.addr import Cidr
from services.topology.base import TopologyObject
from services.topology.errors import ValidationError
from services.topology.fields import (
    COMMON,
    d_list,
    d_opt,
    d_str,
    dump_ip,
    dump_mac,
    f,
    opt_uuid_f,
    p_bool,
    p_cidr,
    p_int,
    p_ips,
    p_mac,
    p_nonempty,
    p_opt,
    p_uuids,
    uuid_f,
)


@dataclass(frozen=True, slots=True)
class PortBinding:
    """Where an exterior port lives: a host and an interface name on it."""

    host_id: str
    interface: str

    @classmethod
    def parse(cls, value: Any, field: str = "binding") -> PortBinding:
        """Parse {"host_id": ..., "interface": ...}."""
        if not isinstance(value, dict) or set(value) != {"host_id", "interface"}:
            raise ValidationError(field, "expected {host_id, interface}")
        return cls(
            p_nonempty(value["host_id"], f"{field}.host_id"),
            p_nonempty(value["interface"], f"{field}.interface"),
        )

    def to_dict(self) -> dict[str, str]:
        """Plain data."""
        return {"host_id": self.host_id, "interface": self.interface}


@dataclass(frozen=True, slots=True)
class Port(TopologyObject):
    """A port of a bridge or router; `address` is for router ports, `addresses` for VMs."""

    SPEC = (
        *COMMON,
        uuid_f("device_id"),
        f("mac", p_mac, dump_mac),
        f("address", p_opt(p_cidr), d_opt(d_str), default=None),
        f("addresses", p_ips, d_list(dump_ip), default=()),
        opt_uuid_f("peer_id"),
        f("binding", p_opt(PortBinding.parse), d_opt(PortBinding.to_dict), default=None),
        f("vlan", p_opt(p_int(1, 4094)), default=None),
        opt_uuid_f("inbound_chain_id"),
        opt_uuid_f("outbound_chain_id"),
        f("port_group_ids", p_uuids, list, default=()),
        f("admin_state_up", p_bool, default=True),
    )
    KIND = "ports"
    id: str
    tenant_id: str
    device_id: str
    mac: int
    name: str = ""
    address: Cidr | None = None
    addresses: tuple[int, ...] = ()
    peer_id: str | None = None
    binding: PortBinding | None = None
    vlan: int | None = None
    inbound_chain_id: str | None = None
    outbound_chain_id: str | None = None
    port_group_ids: tuple[str, ...] = ()
    admin_state_up: bool = True

    def __post_init__(self) -> None:
        if self.peer_id is not None and self.binding is not None:
            raise ValidationError("binding", "an interior (peered) port cannot be bound")
        if self.peer_id == self.id:
            raise ValidationError("peer_id", "a port cannot peer with itself")
