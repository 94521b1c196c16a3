"""Data-dir snapshots: every table's encoded CRDT state and the node's incarnation, written
atomically (temp file, fsync, rename) periodically and on close, read back on start so a
restarted member resumes where it stopped. Writes made since the last snapshot are in the
write-ahead log (mesh/wal.py); peers' gossip brings the rest."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgpack

from mesh.errors import MeshError

log = logging.getLogger("mesh.snapshot")

SNAPSHOT_NAME = "snapshot.msgpack"
FORMAT_VERSION = 1


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What is persisted: host id, incarnation and table name -> crdt.encode(state)."""

    host_id: str
    incarnation: int
    tables: dict[str, bytes]


class SnapshotError(MeshError, ValueError):
    """A snapshot file that cannot be read back."""


def snapshot_path(data_dir: Path) -> Path:
    return data_dir / SNAPSHOT_NAME


def write_snapshot(data_dir: Path, snap: Snapshot) -> None:
    """Atomically replace the snapshot file."""
    data_dir.mkdir(parents=True, exist_ok=True)
    payload = msgpack.packb(
        {
            "version": FORMAT_VERSION,
            "host_id": snap.host_id,
            "incarnation": snap.incarnation,
            "tables": snap.tables,
        },
        use_bin_type=True,
    )
    final = snapshot_path(data_dir)
    tmp = final.with_suffix(".tmp")
    with tmp.open("wb") as fh:
        fh.write(payload)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, final)
    fd = os.open(data_dir, os.O_RDONLY)  # make the rename itself durable
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def read_snapshot(data_dir: Path) -> Snapshot | None:
    """The stored snapshot, None if there is none; SnapshotError if it is unreadable."""
    path = snapshot_path(data_dir)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise SnapshotError(f"{path}: {exc}") from exc
    try:
        obj: Any = msgpack.unpackb(raw, raw=False)
    except Exception as exc:
        raise SnapshotError(f"{path}: not a snapshot ({exc})") from exc
    if not isinstance(obj, dict) or obj.get("version") != FORMAT_VERSION:
        raise SnapshotError(f"{path}: unknown snapshot format")
    host_id, inc, tables = obj.get("host_id"), obj.get("incarnation"), obj.get("tables")
    if not isinstance(host_id, str) or not isinstance(inc, int) or not isinstance(tables, dict):
        raise SnapshotError(f"{path}: malformed snapshot")
    if not all(isinstance(k, str) and isinstance(v, bytes) for k, v in tables.items()):
        raise SnapshotError(f"{path}: malformed table entries")
    return Snapshot(host_id=host_id, incarnation=inc, tables=dict(tables))


def quarantine(data_dir: Path) -> Path:
    """Move an unreadable snapshot aside (kept for inspection) so the agent can start fresh."""
    path = snapshot_path(data_dir)
    target = path.with_suffix(".corrupt")
    os.replace(path, target)
    return target
