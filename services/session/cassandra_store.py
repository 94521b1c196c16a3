"""The Cassandra session store: entries written behind the packet path in single-partition
batches with a TTL of the idle timeout, read back by port when a port binds.

``offer`` only queues (bounded). One asyncio task connects (again and again while Cassandra
is unreachable), takes batches off the queue and sends them with ``execute_async``, at most
``store_max_in_flight`` at a time. A write that fails or times out drops its rows, counted
and logged (one line when writes start failing, then a summary every LOG_EVERY seconds);
nothing ever waits on Cassandra but this task and ``restore``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Sequence
from typing import Any

from cassandra import ConsistencyLevel, OperationTimedOut
from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile, NoHostAvailable
from cassandra.policies import (
    DCAwareRoundRobinPolicy,
    ExponentialReconnectionPolicy,
    TokenAwarePolicy,
)
from cassandra.query import BatchStatement, BatchType, PreparedStatement

from mesh.counters import Counters
from services.session import cassandra_schema as schema
from services.session.config import SessionConfig
from services.session.counters import store_counters
from services.session.entries import SessionEntry, SessionKey
from services.session.store import RestoreResult
from services.session.wire import StateDecodeError, decode_entry
from services.session.write_behind import WriteBehindQueue

log = logging.getLogger(__name__)
LOG_EVERY = 10.0
"""Seconds between summary log lines while writes keep failing."""


class CassandraSessionStore:
    """A :class:`~services.session.store.SessionStore` on a Cassandra cluster."""

    def __init__(
        self,
        contact_points: Sequence[tuple[str, int]],
        config: SessionConfig | None = None,
        keyspace: str = schema.DEFAULT_KEYSPACE,
        replication_factor: int = 1,
        consistency: str = "LOCAL_ONE",
        create_schema: bool = True,
        protocol_version: int | None = None,
    ) -> None:
        if not contact_points:
            raise ValueError("at least one Cassandra contact point is needed")
        self.config = config or SessionConfig()
        self.contact_points = list(contact_points)
        self.keyspace = schema.check_keyspace(keyspace)
        self.replication_factor = replication_factor
        cl = ConsistencyLevel.name_to_value.get(consistency.upper())
        if cl is None:
            raise ValueError(f"unknown consistency level {consistency!r}")
        self.consistency = cl
        self.create_schema = create_schema
        self.protocol_version = protocol_version  # None: negotiated (logs a downgrade)
        self._counters = store_counters()
        self._queue = WriteBehindQueue(self.config.store_queue_max)
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._in_flight = 0
        self._unsent = 0  # entries taken off the queue by a round, not yet all sent
        self._slot_free = asyncio.Event()
        self._cluster: Cluster | None = None
        self._session: Any = None  # cassandra.cluster.Session (untyped library)
        self._inserts: dict[str, PreparedStatement] = {}
        self._selects: dict[str, PreparedStatement] = {}
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closing = False
        self._failing = False
        self._failed_since_log = 0
        self._last_log = 0.0

    @property
    def counters(self) -> Counters:
        return self._counters

    @property
    def connected(self) -> bool:
        """A session is open (its hosts may still be down: writes then fail and count)."""
        return self._session is not None

    @property
    def pending(self) -> int:
        """Entries queued plus batches in flight."""
        return len(self._queue) + self._unsent + self._in_flight

    # --- the packet path's side ---

    def offer(self, entries: Sequence[SessionEntry]) -> int:
        """Queue entries for writing; never blocks. Returns how many the queue took."""
        if not entries:
            return 0
        taken = self._queue.offer(entries)
        self._counters.inc("store_offered", len(entries))
        if taken < len(entries):
            self._counters.inc("store_queue_full", len(entries) - taken)
            self._note_failure(len(entries) - taken, "write-behind queue full")
        self._counters.set("store_queue", len(self._queue))
        self._idle.clear()
        self._wake.set()
        return taken

    # --- lifecycle ---

    async def start(self) -> None:
        """Start the writer task (it connects in the background)."""
        if self._task is None:
            self._loop = asyncio.get_running_loop()
            self._closing = False
            self._task = asyncio.create_task(self._run(), name="session-cassandra-store")

    async def wait_connected(self, timeout: float) -> bool:
        """True once a session is open, False if ``timeout`` passes first."""
        deadline = time.monotonic() + timeout
        while not self.connected:
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(0.05)
        return True

    async def drain(self, timeout: float) -> bool:
        """Wait until nothing is queued or in flight; False if ``timeout`` passes first."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._idle.wait(), timeout)
        return self.pending == 0

    async def close(self, drain_timeout: float = 2.0) -> None:
        """Write what is queued (at most ``drain_timeout``), then stop and disconnect."""
        if self.connected:
            await self.drain(drain_timeout)
        self._closing = True
        self._wake.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        dropped = self._queue.clear()
        if dropped:
            self._counters.inc("store_rows_dropped", dropped, ("closed",))
        await self._disconnect()

    # --- restore ---

    async def restore(self, port_id: str, timeout: float | None = None) -> RestoreResult:
        """Entries stored for ``port_id`` (both tables), within ``timeout`` seconds."""
        limit = self.config.restore_timeout if timeout is None else timeout
        session = self._session
        if session is None:
            self._counters.inc("store_restore_failures")
            return RestoreResult(port_id, (), False, "not connected to Cassandra")
        try:
            pid = uuid.UUID(port_id)
        except ValueError:
            return RestoreResult(port_id, (), False, "port id is not a UUID")
        try:
            entries, bad = await asyncio.wait_for(
                asyncio.to_thread(self._read_port, session, pid, limit), limit
            )
        except (TimeoutError, OperationTimedOut):
            self._counters.inc("store_restore_failures")
            log.warning("session restore of port %s: no answer within %.1fs", port_id, limit)
            return RestoreResult(port_id, (), False, f"timed out after {limit:.1f}s")
        except Exception as e:  # the driver's errors have no common base worth naming
            self._counters.inc("store_restore_failures")
            log.warning("session restore of port %s failed: %s", port_id, e)
            return RestoreResult(port_id, (), False, f"failed: {e}")
        if bad:
            self._counters.inc("store_bad_rows", bad)
            log.warning("session restore of port %s: %d rows did not decode", port_id, bad)
        self._counters.inc("store_restored", len(entries))
        return RestoreResult(port_id, tuple(entries))

    def _read_port(
        self, session: Any, port_id: uuid.UUID, timeout: float
    ) -> tuple[list[SessionEntry], int]:
        """In a worker thread: both tables' rows of the port, decoded, deduplicated."""
        futures = [
            session.execute_async(self._selects[t], (port_id,), timeout=timeout)
            for t in schema.TABLES
        ]
        found: dict[SessionKey, SessionEntry] = {}
        bad = 0
        for f in futures:
            for row in f.result():
                try:
                    e = decode_entry(row.entry)
                except StateDecodeError:
                    bad += 1
                    continue
                found[e.key] = e
        return list(found.values()), bad

    # --- the writer task ---

    async def _run(self) -> None:
        backoff = self.config.store_reconnect_min
        while not self._closing:
            if self._session is None:
                if await self._connect():
                    backoff = self.config.store_reconnect_min
                else:
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, self.config.store_reconnect_max)
                continue
            try:
                await self._write_round()
            except asyncio.CancelledError:
                raise
            except Exception:  # a bug in a round must not stop the writer
                log.exception("session store: write round failed")
                await asyncio.sleep(self.config.store_flush_interval)

    async def _write_round(self) -> None:
        cfg = self.config
        if not self._queue:
            if self.pending == 0:
                self._idle.set()
            self._wake.clear()
            await self._wake.wait()
            return
        if len(self._queue) < cfg.store_batch_rows:
            await asyncio.sleep(cfg.store_flush_interval)  # let a partial batch fill up
        entries = self._queue.take(cfg.store_batch_rows * cfg.store_max_in_flight)
        self._counters.set("store_queue", len(self._queue))
        ttl = cfg.ttl_seconds
        self._unsent = len(entries)
        try:
            for rows in schema.batches(entries, cfg.store_batch_rows):
                while self._in_flight >= cfg.store_max_in_flight:
                    self._slot_free.clear()
                    await self._slot_free.wait()
                self._send(rows, ttl)
        finally:
            self._unsent = 0

    def _send(self, rows: list[schema.Row], ttl: int) -> None:
        session = self._session
        if session is None:
            self._counters.inc("store_rows_dropped", len(rows), ("unavailable",))
            return
        batch = BatchStatement(batch_type=BatchType.UNLOGGED, consistency_level=self.consistency)
        stmt = self._inserts[rows[0].table]
        for r in rows:
            batch.add(stmt, (r.port_id, r.session_key, r.entry, ttl))
        self._in_flight += 1
        self._counters.set("store_in_flight", self._in_flight)
        try:
            future = session.execute_async(batch, timeout=self.config.store_write_timeout)
        except Exception as e:  # raised synchronously (e.g. session shut down)
            self._done(len(rows), e)
            return
        n = len(rows)
        future.add_callbacks(
            callback=self._from_driver,
            callback_args=(n, None),
            errback=self._error_from_driver,
            errback_args=(n,),
        )

    def _from_driver(self, _result: object, n: int, err: BaseException | None) -> None:
        """In a driver thread: hand the outcome to the event loop."""
        loop = self._loop
        if loop is not None:
            with contextlib.suppress(RuntimeError):  # loop closed during shutdown
                loop.call_soon_threadsafe(self._done, n, err)

    def _error_from_driver(self, err: BaseException, n: int) -> None:
        self._from_driver(None, n, err)

    def _done(self, n: int, err: BaseException | None) -> None:
        self._in_flight -= 1
        self._counters.set("store_in_flight", self._in_flight)
        self._slot_free.set()
        if err is None:
            self._counters.inc("store_rows_written", n)
            if self._failing:
                self._failing = False
                log.info("session store: Cassandra writes succeed again")
        else:
            if isinstance(err, NoHostAvailable):
                reason = "unavailable"
            elif isinstance(err, OperationTimedOut) or "Timeout" in type(err).__name__:
                reason = "timeout"
            else:
                reason = "failed"
            self._counters.inc("store_write_failures")
            self._counters.inc("store_rows_dropped", n, (reason,))
            self._note_failure(n, f"{reason}: {err}")
        if self.pending == 0:
            self._idle.set()

    def _note_failure(self, n: int, what: str) -> None:
        """Log the first failure of a run of them, then a summary every LOG_EVERY s."""
        now = time.monotonic()
        self._failed_since_log += n
        if not self._failing:
            self._failing = True
            self._last_log = now
            log.warning("session store: Cassandra writes failing, dropping rows (%s)", what)
            self._failed_since_log = 0
        elif now - self._last_log >= LOG_EVERY:
            log.warning(
                "session store: %d rows dropped in the last %.0fs (%s)",
                self._failed_since_log,
                now - self._last_log,
                what,
            )
            self._last_log = now
            self._failed_since_log = 0

    # --- connecting ---

    async def _connect(self) -> bool:
        try:
            cluster, session = await asyncio.to_thread(self._connect_blocking)
        except Exception as e:
            self._counters.inc("store_connect_failures")
            if not self._failing:
                self._failing = True
                self._last_log = time.monotonic()
                log.warning("session store: cannot reach Cassandra %s: %s", self.contact_points, e)
            return False
        if self._closing:
            await asyncio.to_thread(cluster.shutdown)
            return False
        self._cluster, self._session = cluster, session
        self._counters.inc("store_connects")
        log.info("session store: connected to Cassandra %s", self.contact_points)
        self._failing = False
        return True

    def _connect_blocking(self) -> tuple[Cluster, Any]:
        """In a worker thread: open a cluster session, create the schema, prepare."""
        cfg = self.config
        profile = ExecutionProfile(
            load_balancing_policy=TokenAwarePolicy(DCAwareRoundRobinPolicy()),
            consistency_level=self.consistency,
            request_timeout=cfg.store_write_timeout,
        )
        extra: dict[str, Any] = {}
        if self.protocol_version is not None:
            extra["protocol_version"] = self.protocol_version
        cluster = Cluster(
            contact_points=self.contact_points,
            **extra,
            execution_profiles={EXEC_PROFILE_DEFAULT: profile},
            reconnection_policy=ExponentialReconnectionPolicy(
                cfg.store_reconnect_min, cfg.store_reconnect_max
            ),
            connect_timeout=cfg.store_write_timeout,
            control_connection_timeout=cfg.store_write_timeout,
            idle_heartbeat_interval=5,
            idle_heartbeat_timeout=5,
        )
        try:
            session = cluster.connect()
            if self.create_schema:
                ddl_timeout = 30.0  # schema changes wait for agreement across nodes
                session.execute(
                    schema.create_keyspace(self.keyspace, self.replication_factor),
                    timeout=ddl_timeout,
                )
                for t in schema.TABLES:
                    session.execute(schema.create_table(self.keyspace, t), timeout=ddl_timeout)
            self._inserts = {
                t: session.prepare(schema.insert(self.keyspace, t)) for t in schema.TABLES
            }
            self._selects = {
                t: session.prepare(schema.select_port(self.keyspace, t)) for t in schema.TABLES
            }
        except BaseException:
            cluster.shutdown()
            raise
        return cluster, session

    async def _disconnect(self) -> None:
        cluster, self._cluster, self._session = self._cluster, None, None
        if cluster is not None:
            await asyncio.to_thread(cluster.shutdown)
