"""Events the core reports to its owner, drained with MeshNode.drain_events()."""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass

from mesh.member import Member


@dataclass(frozen=True, slots=True)
class MemberChanged:
    """A member joined, changed state (alive/suspect/dead/left) or changed its metadata."""

    member: Member


@dataclass(frozen=True, slots=True)
class TableChanged:
    """Keys of replicated table `table` changed (local or remote write). For tables that are
    not maps, `keys` is empty and means "the whole value changed"."""

    table: str
    keys: frozenset[Hashable]


Event = MemberChanged | TableChanged
