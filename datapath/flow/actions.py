"""Datapath actions: frozen values both backends execute (an empty list drops the packet)."""

from __future__ import annotations

from dataclasses import dataclass

from datapath.flow.key import Header, TunnelKey


@dataclass(frozen=True, slots=True)
class Output:
    """Send the packet out of a datapath port."""

    port: int


@dataclass(frozen=True, slots=True)
class SetField:
    """Overwrite one header with a new value (OVS_ACTION_ATTR_SET)."""

    header: Header


@dataclass(frozen=True, slots=True)
class SetMasked:
    """Overwrite the masked bits of one header (OVS_ACTION_ATTR_SET_MASKED; not for tunnels)."""

    header: Header
    mask: Header

    def __post_init__(self) -> None:
        if type(self.header) is not type(self.mask):
            raise TypeError("set_masked value and mask must be the same header type")
        if isinstance(self.header, TunnelKey):
            raise TypeError("set_masked cannot set a tunnel: use SetTunnel")


@dataclass(frozen=True, slots=True)
class SetTunnel:
    """Attach tunnel metadata (id, destination, ...) for a following output to a tunnel port."""

    tunnel: TunnelKey


@dataclass(frozen=True, slots=True)
class PushVlan:
    """Push an 802.1Q tag; ``tci`` is pcp << 13 | vid (the present bit is added on the wire)."""

    tci: int
    tpid: int = 0x8100


@dataclass(frozen=True, slots=True)
class PopVlan:
    """Remove the outermost 802.1Q tag."""


@dataclass(frozen=True, slots=True)
class Userspace:
    """Send a copy of the packet to userspace as an ACTION upcall with some opaque bytes."""

    userdata: bytes = b""
    pid: int | None = None  # netlink port for the kernel backend; None means "the handler"


@dataclass(frozen=True, slots=True)
class Drop:
    """Explicit drop; the kernel backend encodes it as an empty action list (6.1 rejects DROP)."""


Action = Output | SetField | SetMasked | SetTunnel | PushVlan | PopVlan | Userspace | Drop
