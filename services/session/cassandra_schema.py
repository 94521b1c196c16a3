"""The Cassandra keyspace of session state and the rows of an entry (pure: CQL text and
row values; the shell in cassandra_store.py runs them).

Two tables, the same shape: a partition per port, a row per entry of a connection that
entered (``sessions_by_ingress_port``) or left (``sessions_by_egress_port``) through it.
The clustering key is the entry's primary key, so a refresh rewrites the row (and its TTL).
"""

from __future__ import annotations

import functools
import re
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from services.session.entries import SessionEntry
from services.session.wire import encode_entry, key_bytes

INGRESS_TABLE = "sessions_by_ingress_port"
EGRESS_TABLE = "sessions_by_egress_port"
TABLES = (INGRESS_TABLE, EGRESS_TABLE)
DEFAULT_KEYSPACE = "vnetmesh_sessions"
DEFAULT_PORT = 9042
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,47}$")


def check_keyspace(name: str) -> str:
    """``name`` if it is a plain CQL identifier (it is spliced into statements)."""
    if not _NAME.match(name):
        raise ValueError(f"keyspace {name!r}: want [a-z][a-z0-9_]*, at most 48 characters")
    return name


def create_keyspace(keyspace: str, replication_factor: int) -> str:
    if replication_factor < 1:
        raise ValueError("replication_factor must be >= 1")
    return (
        f"CREATE KEYSPACE IF NOT EXISTS {check_keyspace(keyspace)} WITH replication = "
        f"{{'class': 'SimpleStrategy', 'replication_factor': {replication_factor}}}"
    )


def create_table(keyspace: str, table: str) -> str:
    # Rows only ever expire by TTL (no deletes): a short gc_grace is safe, and time-window
    # compaction drops whole expired SSTables instead of compacting them.
    return (
        f"CREATE TABLE IF NOT EXISTS {check_keyspace(keyspace)}.{table} ("
        "port_id uuid, session_key blob, entry blob, PRIMARY KEY (port_id, session_key)) "
        "WITH gc_grace_seconds = 3600 AND compaction = {'class': "
        "'TimeWindowCompactionStrategy', 'compaction_window_unit': 'MINUTES', "
        "'compaction_window_size': 10}"
    )


def insert(keyspace: str, table: str) -> str:
    """Bind: port_id, session_key, entry, ttl."""
    return (
        f"INSERT INTO {check_keyspace(keyspace)}.{table} (port_id, session_key, entry) "
        "VALUES (?, ?, ?) USING TTL ?"
    )


def select_port(keyspace: str, table: str) -> str:
    """Bind: port_id."""
    return f"SELECT entry FROM {check_keyspace(keyspace)}.{table} WHERE port_id = ?"


@dataclass(frozen=True, slots=True)
class Row:
    """One row to write: its table, partition (port) and values."""

    table: str
    port_id: uuid.UUID
    session_key: bytes
    entry: bytes


@functools.lru_cache(maxsize=65536)
def _port_uuid(port_id: str) -> uuid.UUID:
    return uuid.UUID(port_id)


def rows_of(entry: SessionEntry) -> Iterator[Row]:
    """The rows of one entry: its ingress port's and each distinct egress port's."""
    key = key_bytes(entry.key)
    value = encode_entry(entry)
    ports = entry.ports
    yield Row(INGRESS_TABLE, _port_uuid(ports.ingress), key, value)
    for p in dict.fromkeys(ports.egress):
        yield Row(EGRESS_TABLE, _port_uuid(p), key, value)


def batches(entries: Iterable[SessionEntry], max_rows: int) -> list[list[Row]]:
    """The rows of ``entries`` grouped by (table, port), at most ``max_rows`` a group: each
    group is one single-partition unlogged batch."""
    groups: dict[tuple[str, uuid.UUID], list[Row]] = {}
    for e in entries:
        for r in rows_of(e):
            groups.setdefault((r.table, r.port_id), []).append(r)
    out: list[list[Row]] = []
    for rows in groups.values():
        out.extend(rows[i : i + max_rows] for i in range(0, len(rows), max_rows))
    return out


def parse_contact_points(text: str) -> list[tuple[str, int]]:
    """``HOST[:PORT],...`` (meshd ``--cassandra``) as (host, port) pairs; port 9042 when
    left out. ValueError names the bad item."""
    out: list[tuple[str, int]] = []
    for raw in text.split(","):
        item = raw.strip()
        if not item:
            raise ValueError(f"--cassandra {text!r}: empty host")
        host, sep, port_text = item.rpartition(":")
        if not sep:
            host, port_text = item, str(DEFAULT_PORT)
        if host.startswith("[") and host.endswith("]"):
            host = host[1:-1]
        if not host or not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise ValueError(f"--cassandra {text!r}: bad item {item!r} (want HOST[:PORT])")
        out.append((host, int(port_text)))
    return out
