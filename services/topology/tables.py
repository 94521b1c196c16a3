"""The replicated tables that hold the topology, and the deltas that change them.

One table per kind, named "net.<kind>": an ORMap from object id to an ORMap from field
name to LWWRegister. Merge semantics (docs/services.md): concurrent writes to one field,
last writer wins (HLC); concurrent writes to different fields both survive; an object
exists iff its "id" field is present. Only create writes "id", so a delete concurrent with
an update removes the object (remove-wins): the update's fields survive in the map as
leftovers without "id", which the snapshot ignores and the next write to the object
cannot revive (updates never write "id").
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from crdt import LWWRegister, ORMap
from services.topology.model import KINDS

TABLE_PREFIX = "net."


def table_name(kind: str) -> str:
    """Replicated table name of a kind ("bridges" -> "net.bridges")."""
    return TABLE_PREFIX + kind


def new_table() -> ORMap:
    """An empty object table: id -> (field -> LWWRegister)."""
    return ORMap(lambda: ORMap(LWWRegister))


def table_names() -> list[str]:
    """Every topology table name."""
    return [table_name(k) for k in KINDS]


def write_fields(state: ORMap, replica: str, oid: str, fields: Mapping[str, Any]) -> ORMap:
    """Delta assigning `fields` (plain dumped values) of object `oid`."""

    def change(obj: ORMap) -> ORMap:
        acc: ORMap | None = None
        for name, value in sorted(fields.items()):
            d = obj.update(replica, name, _assigner(replica, value))
            obj.apply(d)
            acc = d if acc is None else acc.join(d)
        return acc if acc is not None else obj.update(replica, "id", lambda r: r)

    return state.update(replica, oid, change)


def _assigner(replica: str, value: Any) -> Callable[[LWWRegister], LWWRegister]:
    return lambda reg: reg.assign(replica, value)


def create(state: ORMap, replica: str, fields: Mapping[str, Any]) -> ORMap:
    """Delta creating an object from its full dumped form (which includes "id")."""
    return write_fields(state, replica, str(fields["id"]), fields)


def update(state: ORMap, replica: str, oid: str, fields: Mapping[str, Any]) -> ORMap:
    """Delta changing some fields; never writes "id", so it cannot revive a deleted object."""
    return write_fields(state, replica, oid, {k: v for k, v in fields.items() if k != "id"})


def delete(state: ORMap, replica: str, oid: str) -> ORMap:
    """Delta deleting an object (every field it has here)."""
    return state.remove(replica, oid)


def objects(state: ORMap) -> dict[str, dict[str, Any]]:
    """Plain {id: {field: value}} of a table (what Topology.from_tables reads)."""
    value: dict[str, dict[str, Any]] = state.value()
    return value
