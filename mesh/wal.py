"""Write-ahead log of local table writes: appended on the loop, made durable by group commit
(one write + fdatasync per batch, in a thread), replayed on start, cut back at each snapshot.

A record is ``length (u32) | crc32 (u32) | msgpack payload``. Replay stops at the first
record that is torn or fails its checksum (a crash in the middle of a write leaves a torn
tail; that write was never acknowledged, since acknowledgements wait for the sync). Replay
is a join of deltas, so a record that is replayed twice, or that the snapshot already
holds, changes nothing.

Segments are files ``wal-NNNNNNNN.log`` in the data dir. A snapshot starts a new segment;
once the snapshot is safely on disk, older segments are deleted."""

from __future__ import annotations

import asyncio
import logging
import os
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import msgpack

from mesh.errors import MeshError

log = logging.getLogger("mesh.wal")

_HEADER = struct.Struct(">II")
MAX_RECORD = 64 << 20
"""Larger records are refused on append and treated as corruption on replay."""
SEGMENT_PREFIX = "wal-"
SEGMENT_SUFFIX = ".log"


class WalError(MeshError, OSError):
    """The write-ahead log could not be written or synced: the write is not durable."""


@dataclass(frozen=True, slots=True)
class DeltaRecord:
    """One local write: the table and the crdt.encode() bytes of its delta."""

    table: str
    data: bytes


@dataclass(frozen=True, slots=True)
class IncarnationRecord:
    """The incarnation this member started with (so a crash never reuses a lower one)."""

    incarnation: int


Record = DeltaRecord | IncarnationRecord


def encode_record(record: Record) -> bytes:
    """The bytes of one record, header included."""
    body: list[object]
    if isinstance(record, DeltaRecord):
        body = ["d", record.table, record.data]
    else:
        body = ["i", record.incarnation]
    payload: bytes = msgpack.packb(body, use_bin_type=True)
    if len(payload) > MAX_RECORD:
        raise ValueError(f"record of {len(payload)} bytes is larger than {MAX_RECORD}")
    return _HEADER.pack(len(payload), zlib.crc32(payload)) + payload


def _decode_payload(payload: bytes) -> Record | None:
    try:
        body: object = msgpack.unpackb(payload, raw=False)
    except Exception:
        return None
    if not isinstance(body, list) or not body:
        return None
    kind = body[0]
    if kind == "d" and len(body) == 3 and isinstance(body[1], str) and isinstance(body[2], bytes):
        return DeltaRecord(body[1], body[2])
    if kind == "i" and len(body) == 2 and type(body[1]) is int:
        return IncarnationRecord(body[1])
    return None


def decode_records(buf: bytes) -> tuple[list[Record], int]:
    """The whole, valid records at the start of `buf`, and the offset where they end (less
    than len(buf) when the tail is torn or corrupt). Never raises on any input."""
    out: list[Record] = []
    pos = 0
    size = len(buf)
    while pos + _HEADER.size <= size:
        length, crc = _HEADER.unpack_from(buf, pos)
        end = pos + _HEADER.size + length
        if length > MAX_RECORD or end > size:
            break
        payload = buf[pos + _HEADER.size : end]
        if zlib.crc32(payload) != crc:
            break
        record = _decode_payload(payload)
        if record is None:
            break
        out.append(record)
        pos = end
    return out, pos


def segment_name(number: int) -> str:
    return f"{SEGMENT_PREFIX}{number:08d}{SEGMENT_SUFFIX}"


def list_segments(data_dir: Path) -> list[tuple[int, Path]]:
    """(number, path) of every segment in the data dir, oldest first."""
    found: list[tuple[int, Path]] = []
    for path in data_dir.glob(f"{SEGMENT_PREFIX}*{SEGMENT_SUFFIX}"):
        digits = path.name[len(SEGMENT_PREFIX) : -len(SEGMENT_SUFFIX)]
        if digits.isdigit():
            found.append((int(digits), path))
    return sorted(found)


@dataclass(frozen=True, slots=True)
class Replay:
    """What a data dir's segments hold: every valid record, oldest first, and figures."""

    records: list[Record]
    segments: int
    bytes_read: int
    torn: int
    """Segments whose tail was torn or corrupt (cut back to their last whole record)."""


def read_segments(data_dir: Path) -> Replay:
    """Read every segment; a torn tail is cut off the file (it was never acknowledged)."""
    records: list[Record] = []
    total = 0
    torn = 0
    segments = list_segments(data_dir)
    for _number, path in segments:
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise WalError(f"{path}: cannot read: {exc.strerror or exc}") from exc
        found, end = decode_records(raw)
        records.extend(found)
        total += len(raw)
        if end < len(raw):
            torn += 1
            log.warning(
                "write-ahead log segment has a torn or corrupt tail; cut back",
                extra={"fields": {"segment": path.name, "kept": end, "dropped": len(raw) - end}},
            )
            try:
                os.truncate(path, end)
            except OSError as exc:
                raise WalError(f"{path}: cannot truncate: {exc.strerror or exc}") from exc
    return Replay(records, len(segments), total, torn)


def iter_deltas(replay: Replay) -> Iterator[DeltaRecord]:
    for rec in replay.records:
        if isinstance(rec, DeltaRecord):
            yield rec


class WriteAheadLog:
    """Appends records on the event loop; :meth:`flush` returns once every record appended
    before the call is on disk. One batch is written at a time; records appended while it
    runs form the next batch (group commit), so many concurrent writers share one sync."""

    def __init__(self, data_dir: Path, first_segment: int, *, fsync: bool = True) -> None:
        self.data_dir = data_dir
        self.fsync = fsync
        """False: records are written (they survive a killed process) but not synced (a
        power loss may lose the last ones). For benchmarks and throwaway meshes."""
        self.segment = first_segment
        self._pending: list[bytes] = []
        self._appended = 0
        self._synced = 0
        self._batch: asyncio.Future[None] | None = None
        self._fd: int | None = None
        self._fd_segment = -1
        self._error: WalError | None = None
        self.records = 0
        self.bytes = 0
        self.syncs = 0
        self.failures = 0

    @classmethod
    def open(cls, data_dir: Path, *, fsync: bool = True) -> tuple[WriteAheadLog, Replay]:
        """Replay the data dir's segments and start a new one for this run's writes."""
        replay = read_segments(data_dir)
        segments = list_segments(data_dir)
        nxt = segments[-1][0] + 1 if segments else 1
        return cls(data_dir, nxt, fsync=fsync), replay

    @property
    def pending(self) -> int:
        """Records appended but not yet on disk."""
        return self._appended - self._synced

    def append(self, record: Record) -> int:
        """Queue one record for the next batch; returns its sequence number."""
        self._pending.append(encode_record(record))
        self._appended += 1
        self.records += 1
        self._start_batch()
        return self._appended

    def _start_batch(self) -> None:
        """Start writing at once, even if nobody awaits flush() (extensions' writes): a
        record never waits in memory for the next acknowledged write or snapshot."""
        if self._batch is not None:
            return
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop (a tool reading the log): flush() writes later
        self._batch = asyncio.ensure_future(self._write_batch())

    async def flush(self) -> None:
        """Return once every record appended so far is written (and synced); WalError if
        the disk refused it (later calls retry)."""
        target = self._appended
        while self._synced < target:
            if self._batch is None:
                self._batch = asyncio.ensure_future(self._write_batch())
            batch = self._batch
            await asyncio.shield(batch)
            if self._synced < target and self._error is not None and batch.done():
                err, self._error = self._error, None
                raise err

    async def _write_batch(self) -> None:
        loop = asyncio.get_running_loop()
        data = b"".join(self._pending)
        upto = self._appended
        self._pending = []
        segment = self.segment
        try:
            await loop.run_in_executor(None, self._write, segment, data)
        except OSError as exc:
            self.failures += 1
            self._pending.insert(0, data)  # kept: the next flush tries again
            self._error = WalError(f"write-ahead log: {exc.strerror or exc}")
            log.error("write-ahead log write failed", extra={"fields": {"error": str(exc)}})
        else:
            self._synced = upto
            self.bytes += len(data)
            self.syncs += 1
        finally:
            self._batch = None
            if self._pending and self._error is None:
                self._start_batch()  # what arrived meanwhile: the next group

    def _write(self, segment: int, data: bytes) -> None:
        """In a worker thread (one at a time): open the segment if it changed, append, sync."""
        if self._fd_segment != segment:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
            path = self.data_dir / segment_name(segment)
            self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            self._fd_segment = segment
            if self.fsync:
                _sync_dir(self.data_dir)
        fd = self._fd
        assert fd is not None
        view = memoryview(data)
        while view:
            n = os.write(fd, view)
            view = view[n:]
        if self.fsync:
            os.fdatasync(fd)

    def rotate(self) -> int:
        """Start a new segment for records appended from now on; returns its number. Call
        in the same loop step as encoding a snapshot: segments before it are then covered
        by that snapshot (records still pending are written to the new one: harmless)."""
        self.segment += 1
        return self.segment

    def remove_before(self, segment: int) -> int:
        """Delete segments older than `segment` (their records are in a durable snapshot)."""
        removed = 0
        for number, path in list_segments(self.data_dir):
            if number < segment:
                try:
                    path.unlink()
                    removed += 1
                except OSError as exc:
                    log.warning(
                        "cannot remove an old log segment",
                        extra={"fields": {"segment": path.name, "error": str(exc)}},
                    )
        return removed

    async def close(self) -> None:
        """Flush what is pending, then close the file."""
        try:
            await self.flush()
        finally:
            if self._batch is not None:
                await asyncio.shield(self._batch)
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
                self._fd_segment = -1


def _sync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
