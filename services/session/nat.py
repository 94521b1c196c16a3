"""NAT binding values: the tuple a packet had before translation and the one it has after,
on one device (the router whose NAT rule made it), and the two keys it is found by."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from services.session.keys import FlowTuple


class NatKind(enum.Enum):
    """What a binding rewrites on the forward packet: its source or its destination."""

    SNAT = "snat"
    DNAT = "dnat"


class NatDirection(enum.Enum):
    """Which packet a NAT key is looked up for."""

    FORWARD = "forward"
    """The forward packet before translation (later packets of the same connection)."""
    RETURN = "return"
    """A reply as it arrives, i.e. the translated tuple reversed (reverse translation)."""


@dataclass(frozen=True, slots=True)
class NatBinding:
    """``original`` became ``translated``; the protocol never changes."""

    original: FlowTuple
    translated: FlowTuple

    def __post_init__(self) -> None:
        if self.original.proto != self.translated.proto:
            raise ValueError("a NAT binding keeps the protocol")


@dataclass(frozen=True, slots=True)
class NatKey:
    """A NAT table key: device, kind, direction and the tuple of the packet looking it up."""

    device_id: str
    kind: NatKind
    direction: NatDirection
    flow: FlowTuple


def forward_nat_key(device_id: str, kind: NatKind, binding: NatBinding) -> NatKey:
    """The key a later forward packet (still untranslated) finds the binding by."""
    return NatKey(device_id, kind, NatDirection.FORWARD, binding.original)


def return_nat_key(device_id: str, kind: NatKind, binding: NatBinding) -> NatKey:
    """The key a reply (addressed to the translated tuple) finds the binding by."""
    return NatKey(device_id, kind, NatDirection.RETURN, binding.translated.reversed())
