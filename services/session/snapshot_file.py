"""The local store's file: a snapshot of session entries with their idle times and the wall
time it was written, checksummed as a whole so a torn or damaged file is recognised.

Layout (network byte order)::

    magic "VNSS" | version 1 | 3 reserved zero bytes | written_at (f64, Unix time) | count (u32)
    count x record: idle_for (f32, seconds) | length (u16) | entry (services/session/wire.py)
    crc32 of everything before (u32)

:func:`decode_snapshot` raises :class:`SnapshotFileError` and nothing else.
"""

from __future__ import annotations

import math
import struct
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

from services.session.table import SnapshotItem
from services.session.wire import StateDecodeError, decode_entry, encode_entry

MAGIC = b"VNSS"
VERSION = 1
_HEAD = struct.Struct("!4sB3sdI")
_REC = struct.Struct("!fH")
_CRC = struct.Struct("!I")


class SnapshotFileError(ValueError):
    """The file is not a whole, valid snapshot (bad magic/version/checksum/framing)."""


@dataclass(frozen=True, slots=True)
class DecodedSnapshot:
    """A file's contents: when it was written, its items, and records that did not decode
    (a whole-file checksum passed, so only a format skew makes any)."""

    written_at: float
    items: tuple[SnapshotItem, ...]
    bad_records: int = 0


def encode_snapshot(items: Sequence[SnapshotItem], written_at: float) -> bytes:
    """The file's bytes for ``items``, stamped ``written_at`` (wall clock)."""
    parts = [_HEAD.pack(MAGIC, VERSION, b"\0\0\0", written_at, len(items))]
    for item in items:
        body = encode_entry(item.entry)
        parts.append(_REC.pack(item.idle_for, len(body)))
        parts.append(body)
    data = b"".join(parts)
    return data + _CRC.pack(zlib.crc32(data))


def decode_snapshot(data: bytes) -> DecodedSnapshot:
    """Parse a file; :class:`SnapshotFileError` if it is not a whole valid snapshot."""
    if len(data) < _HEAD.size + _CRC.size:
        raise SnapshotFileError(f"{len(data)} bytes: shorter than a header")
    body, (crc,) = data[: -_CRC.size], _CRC.unpack(data[-_CRC.size :])
    if zlib.crc32(body) != crc:
        raise SnapshotFileError("checksum mismatch (torn or damaged file)")
    magic, version, reserved, written_at, count = _HEAD.unpack_from(body)
    if magic != MAGIC:
        raise SnapshotFileError(f"bad magic {magic!r}")
    if version != VERSION:
        raise SnapshotFileError(f"unsupported version {version}")
    if reserved != b"\0\0\0" or not math.isfinite(written_at):
        raise SnapshotFileError("bad header fields")
    off = _HEAD.size
    items: list[SnapshotItem] = []
    bad = 0
    for _ in range(count):
        if off + _REC.size > len(body):
            raise SnapshotFileError("truncated record header")
        idle_for, length = _REC.unpack_from(body, off)
        off += _REC.size
        if off + length > len(body):
            raise SnapshotFileError("truncated record")
        record = body[off : off + length]
        off += length
        try:
            entry = decode_entry(record)
        except StateDecodeError:
            bad += 1
            continue
        if not math.isfinite(idle_for) or idle_for < 0:
            bad += 1
            continue
        items.append(SnapshotItem(entry, float(idle_for)))
    if off != len(body):
        raise SnapshotFileError(f"{len(body) - off} bytes after the last record")
    return DecodedSnapshot(written_at, tuple(items), bad)
