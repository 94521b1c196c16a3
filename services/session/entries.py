"""Session entries as they travel (state packets, stores): a conntrack key or a NAT binding,
with the ports of the connection that created it (stores are read by port)."""

from __future__ import annotations

from dataclasses import dataclass

from services.session.keys import ConnKey
from services.session.nat import NatBinding, NatKey, NatKind, forward_nat_key, return_nat_key


@dataclass(frozen=True, slots=True)
class SessionPorts:
    """The ingress port and the egress ports of the forward packet that made an entry."""

    ingress: str
    egress: tuple[str, ...] = ()

    def ports(self) -> tuple[str, ...]:
        """Ingress first, then each egress port not equal to it."""
        return (self.ingress, *(p for p in self.egress if p != self.ingress))


@dataclass(frozen=True, slots=True)
class ConnEntry:
    """A conntrack entry: the forward key is all there is to it."""

    key: ConnKey
    ports: SessionPorts


@dataclass(frozen=True, slots=True)
class NatEntry:
    """A NAT binding made on ``device_id``; found by its forward and its return key."""

    device_id: str
    kind: NatKind
    binding: NatBinding
    ports: SessionPorts

    @property
    def key(self) -> NatKey:
        """The primary key: the forward one."""
        return forward_nat_key(self.device_id, self.kind, self.binding)

    @property
    def return_key(self) -> NatKey:
        return return_nat_key(self.device_id, self.kind, self.binding)


SessionEntry = ConnEntry | NatEntry
SessionKey = ConnKey | NatKey
