"""The embedded session store: entries in memory, written to one file in the data dir so a
restarted agent keeps its sessions. Writes are atomic (temporary file, fsync, rename); a
file that does not read back is set aside (``.corrupt``), counted and logged, never fatal.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from mesh.counters import Counters
from services.session.config import SessionConfig
from services.session.counters import store_counters
from services.session.entries import SessionEntry
from services.session.snapshot_file import SnapshotFileError, decode_snapshot, encode_snapshot
from services.session.store import RestoreResult
from services.session.table import SessionTable, SnapshotItem

FILE_NAME = "sessions.bin"
log = logging.getLogger(__name__)


class LocalSessionStore:
    """A :class:`~services.session.store.SessionStore` over a file in ``data_dir``."""

    def __init__(
        self,
        data_dir: Path,
        config: SessionConfig | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config or SessionConfig()
        self.path = Path(data_dir) / FILE_NAME
        self._clock = clock  # wall clock: idle times must survive a restart
        self._table = SessionTable(self.config.idle_timeout, self.config.max_entries)
        self._counters = store_counters()
        self._dirty = False
        self._task: asyncio.Task[None] | None = None
        self._write_lock = asyncio.Lock()

    @property
    def counters(self) -> Counters:
        return self._counters

    def __len__(self) -> int:
        return len(self._table)

    def offer(self, entries: Sequence[SessionEntry]) -> int:
        """Keep ``entries`` (as used now); the file follows within ``local_flush_interval``."""
        if not entries:
            return 0
        evicted = self._table.put_many(entries, self._clock())
        self._counters.inc("store_offered", len(entries))
        if evicted:
            self._counters.inc("store_rows_dropped", len(evicted), ("evicted",))
        self._dirty = True
        return len(entries)

    async def start(self) -> None:
        """Load the file (if any, dropping what idled out meanwhile), start the writer."""
        self.load()
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="session-local-store")

    def load(self) -> int:
        """Read the file into memory; returns entries restored. Bad file: set aside."""
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return 0
        except OSError as e:
            self._set_aside(f"unreadable: {e}")
            return 0
        try:
            snap = decode_snapshot(data)
        except SnapshotFileError as e:
            self._set_aside(str(e))
            return 0
        if snap.bad_records:
            self._counters.inc("store_bad_rows", snap.bad_records)
            log.warning("session store %s: %d records skipped", self.path, snap.bad_records)
        now = self._clock()
        gap = max(0.0, now - snap.written_at)  # a clock stepped back counts as no time
        before = len(self._table)
        items = [SnapshotItem(i.entry, i.idle_for + gap) for i in snap.items]
        self._table.restore(items, now)
        return len(self._table) - before

    async def restore(self, port_id: str, timeout: float | None = None) -> RestoreResult:
        """The live entries of ``port_id`` (memory only: never waits)."""
        now = self._clock()
        self._table.expired(now)
        entries = tuple(self._table.by_port(port_id))
        self._counters.inc("store_restored", len(entries))
        return RestoreResult(port_id, entries)

    async def flush(self) -> bool:
        """Write the file now if anything changed; False if the write failed (counted)."""
        async with self._write_lock:
            if not self._dirty:
                return True
            self._dirty = False
            now = self._clock()
            self._table.expired(now)
            data = encode_snapshot(self._table.snapshot(now), now)
            count = len(self._table)
            try:
                await asyncio.to_thread(_write_atomic, self.path, data)
            except OSError as e:
                self._dirty = True
                self._counters.inc("store_write_failures")
                log.warning("session store %s: write failed: %s", self.path, e)
                return False
            self._counters.inc("store_rows_written", count)
            return True

    async def close(self) -> None:
        """Stop the writer and write a last time."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.flush()

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.config.local_flush_interval)
            try:
                await self.flush()
            except Exception:  # keep the writer alive whatever a round hit
                self._counters.inc("store_write_failures")
                log.exception("session store %s: flush round failed", self.path)

    def _set_aside(self, why: str) -> None:
        self._counters.inc("store_corrupt_files")
        aside = self.path.with_name(self.path.name + ".corrupt")
        try:
            os.replace(self.path, aside)
            where = f"moved to {aside}"
        except OSError as e:
            where = f"could not be moved aside: {e}"
        log.warning("session store %s ignored (%s); %s", self.path, why, where)


def _write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that a crash leaves the old file or the new, whole."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        view = memoryview(data)
        while view:
            n = os.write(fd, view)
            view = view[n:]
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    dfd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)
