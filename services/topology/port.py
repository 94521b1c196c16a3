"""Virtual ports: exterior (bound to a host interface) or interior (peered with a port)."""

from __future__ import annotations

from dataclasses import dataclass

from services.topology.addr import Cidr
from services.topology.base import TopologyObject
from services.topology.errors import ValidationError
from services.topology.fields import (
    BOOL,
    CIDR,
    IPS,
    MAC,
    NONEMPTY,
    UUID,
    UUIDS,
    Codec,
    field,
    int_range,
    opt,
    p_nonempty,
)


@dataclass(frozen=True, slots=True)
class PortBinding:
    """Where an exterior port lives: a host and an interface name on it."""

    host_id: str
    interface: str

    @classmethod
    def parse(cls, value: object, field: str = "binding") -> PortBinding:
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


BINDING: Codec[PortBinding] = Codec(
    PortBinding.parse,
    PortBinding.to_dict,
    {
        "type": "object",
        "properties": {"host_id": NONEMPTY.schema, "interface": NONEMPTY.schema},
        "required": ["host_id", "interface"],
        "additionalProperties": False,
    },
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Port(TopologyObject):
    """A port of a bridge or router; `address` is for router ports, `addresses` for VMs."""

    KIND = "ports"
    device_id: str = field(UUID, refs=("bridges", "routers"))
    mac: int = field(MAC)
    address: Cidr | None = field(opt(CIDR), default=None)
    addresses: tuple[int, ...] = field(IPS, default=())
    peer_id: str | None = field(
        opt(UUID), default=None, read_only="use POST /v1/ports/{id}/link and /unlink"
    )
    binding: PortBinding | None = field(opt(BINDING), default=None)
    vlan: int | None = field(opt(int_range(1, 4094)), default=None)
    inbound_chain_id: str | None = field(opt(UUID), default=None, refs=("chains",))
    outbound_chain_id: str | None = field(opt(UUID), default=None, refs=("chains",))
    port_group_ids: tuple[str, ...] = field(UUIDS, default=(), refs=("port_groups",))
    admin_state_up: bool = field(BOOL, default=True)

    def __post_init__(self) -> None:
        if self.peer_id is not None and self.binding is not None:
            raise ValidationError("binding", "an interior (peered) port cannot be bound")
        if self.peer_id == self.id:
            raise ValidationError("peer_id", "a port cannot peer with itself")
