"""Member values: who a peer is (metadata) and what we believe about it (state, incarnation)."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from mesh.address import Address


class MemberState(enum.Enum):
    """SWIM member states; LEFT is a dead member that said goodbye (graceful leave)."""

    ALIVE = "alive"
    SUSPECT = "suspect"
    DEAD = "dead"
    LEFT = "left"


@dataclass(frozen=True, slots=True)
class MemberMeta:
    """What a member says about itself: stable host id, gossip, tunnel and API addresses."""

    host_id: str
    gossip: Address
    underlay: str
    api: Address | None


@dataclass(frozen=True, slots=True)
class Member:
    """A snapshot of one member as seen by the local node."""

    meta: MemberMeta
    state: MemberState
    incarnation: int
