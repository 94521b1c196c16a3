"""Merge semantics of the replicated topology tables, with the real crdt objects."""

from __future__ import annotations

import uuid

from crdt import ORMap, decode, encode
from services.topology import tables as T
from services.topology.snapshot import Topology

BR = str(uuid.UUID(int=1))


def _pair() -> tuple[ORMap, ORMap]:
    a = T.new_table()
    a.apply(T.create(a, "r1", {"id": BR, "tenant_id": "t", "name": "br"}))
    b = T.new_table()
    b.apply(a)
    return a, b


def _sync(a: ORMap, b: ORMap) -> None:
    a_copy = a.copy()
    a.apply(b)
    b.apply(a_copy)


def _topo(state: ORMap) -> Topology:
    return Topology.from_tables({"bridges": T.objects(state)})


def test_create_roundtrips_through_the_codec() -> None:
    a, b = _pair()
    assert decode(encode(a)) == a
    assert _topo(b).bridges[BR].name == "br"


def test_concurrent_delete_and_update_remove_wins() -> None:
    a, b = _pair()
    a.apply(T.delete(a, "r1", BR))
    b.apply(T.update(b, "r2", BR, {"name": "renamed", "id": "ignored"}))
    _sync(a, b)
    assert a == b
    # the update's field survives as a leftover without "id": the object is gone
    assert "id" not in T.objects(a).get(BR, {})
    assert BR not in _topo(a).bridges
    assert _topo(a).errors == []
    # a later update on either side does not revive it
    a.apply(T.update(a, "r1", BR, {"admin_state_up": False}))
    assert BR not in _topo(a).bridges


def test_concurrent_writes_to_one_field_converge_lww() -> None:
    a, b = _pair()
    a.apply(T.update(a, "r1", BR, {"name": "from-a"}))
    b.apply(T.update(b, "r2", BR, {"name": "from-b"}))
    _sync(a, b)
    assert a == b
    assert _topo(a).bridges[BR].name in {"from-a", "from-b"}
    # a write that observed the winner supersedes it
    a.apply(T.update(a, "r1", BR, {"name": "final"}))
    _sync(a, b)
    assert _topo(b).bridges[BR].name == "final"


def test_concurrent_writes_to_different_fields_both_survive() -> None:
    a, b = _pair()
    a.apply(T.update(a, "r1", BR, {"name": "n"}))
    b.apply(T.update(b, "r2", BR, {"admin_state_up": False}))
    _sync(a, b)
    br = _topo(a).bridges[BR]
    assert (br.name, br.admin_state_up) == ("n", False)


def test_invalid_replicated_value_is_reported_not_fatal() -> None:
    a, _ = _pair()
    a.apply(T.update(a, "r1", BR, {"inbound_chain_id": "not-a-uuid"}))
    topo = _topo(a)
    assert BR not in topo.bridges
    assert [(e.kind, e.field) for e in topo.errors] == [("bridges", "inbound_chain_id")]
