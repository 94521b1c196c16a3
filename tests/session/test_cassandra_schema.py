"""Rows and batches of entries, CQL text, and the --cassandra contact point syntax."""

from __future__ import annotations

import uuid

import pytest

from services.session import cassandra_schema as schema
from services.session.entries import ConnEntry, SessionPorts
from services.session.keys import ConnKey, FlowTuple
from services.session.wire import decode_entry

A, B, C = (str(uuid.UUID(int=i)) for i in (1, 2, 3))


def e(i: int, ports: SessionPorts) -> ConnEntry:
    return ConnEntry(ConnKey(A, FlowTuple(17, 1, i, 2, 53)), ports)


def test_rows_per_port_and_batches_per_partition() -> None:
    es = [e(i, SessionPorts(A, (B, B))) for i in range(5)] + [e(9, SessionPorts(C, (B,)))]
    rows = list(schema.rows_of(es[0]))
    assert [(r.table, str(r.port_id)) for r in rows] == [
        (schema.INGRESS_TABLE, A),
        (schema.EGRESS_TABLE, B),  # a repeated egress port is one row
    ]
    assert decode_entry(rows[0].entry) == es[0]
    batches = schema.batches(es, max_rows=2)
    for b in batches:
        assert len(b) <= 2
        assert len({(r.table, r.port_id) for r in b}) == 1
    counted = {}
    for b in batches:
        k = (b[0].table, str(b[0].port_id))
        counted[k] = counted.get(k, 0) + len(b)
    assert counted == {
        (schema.INGRESS_TABLE, A): 5,
        (schema.EGRESS_TABLE, B): 6,
        (schema.INGRESS_TABLE, C): 1,
    }


def test_keyspace_names_are_checked() -> None:
    assert "replication_factor': 3" in schema.create_keyspace("ks_1", 3)
    for bad in ("1ks", "ks; DROP", "KS", ""):
        with pytest.raises(ValueError):
            schema.check_keyspace(bad)
    with pytest.raises(ValueError):
        schema.create_keyspace("ks", 0)


def test_contact_points() -> None:
    assert schema.parse_contact_points("10.0.0.1, db:9043,[::1]:9044") == [
        ("10.0.0.1", 9042),
        ("db", 9043),
        ("::1", 9044),
    ]
    for bad in ("", "a,,b", "h:0", "h:x", ":9042", "h:70000"):
        with pytest.raises(ValueError, match="--cassandra"):
            schema.parse_contact_points(bad)
