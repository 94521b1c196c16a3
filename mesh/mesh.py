"""Mesh: the library's front door. One member of a state mesh in any asyncio program:
binds the gossip port, runs the protocol core over UDP and TCP, keeps replicated tables,
persists them in a data dir (snapshot + write-ahead log), and leaves gracefully.

    async with Mesh("a", bind="127.0.0.1:0") as m:
        inventory = m.table("inventory", lambda: ORMap(LWWRegister))
        inventory.put("apples", 3)
        await m.flush()                 # durable in the data dir (no-op without one)
        await m.wait_replicated(1)      # held by at least one other member

meshd runs on this same class (mesh/daemon/agent.py), so the daemon and the library cannot
drift. Nothing a peer sends raises into user code: bad input is counted (``metrics()``) and
logged at a bounded rate."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import random
import time
from collections import deque
from collections.abc import Callable, Coroutine, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar, cast

import crdt
from crdt import CRDT
from mesh.config import MeshConfig
from mesh.events import Event, MemberChanged, TableChanged
from mesh.keyfile import load_keyring
from mesh.keyring import Keyring
from mesh.member import Member, MemberMeta, MemberState
from mesh.node import MeshNode
from mesh.outputs import Output
from mesh.replicated_table import ReplicatedTable
from mesh.setup_errors import BindError, ConfigError, ReplicationTimeout
from mesh.snapshot import Snapshot, SnapshotError, quarantine, read_snapshot, write_snapshot
from mesh.table import Table
from mesh.transport import NodeDriver, TransportSettings
from mesh.transport.address import AddressError, format_address, is_wildcard, parse_address
from mesh.wal import DeltaRecord, IncarnationRecord, Replay, WalError, WriteAheadLog

log = logging.getLogger("mesh")

S = TypeVar("S", bound=CRDT)
Address = tuple[str, int]
PROFILES = ("lan", "wan", "local")
DEFAULT_BIND = "127.0.0.1:7946"
EVENT_BUFFER = 10_000
"""Events kept per ``events()`` consumer that falls behind; older ones are dropped (and
counted as ``events_dropped``)."""
REJOIN_FIRST = 0.5
REJOIN_MAX = 10.0
REPLICATION_POLL = 0.1
"""Seconds between push-pull rounds while ``wait_replicated`` waits (only with peers that
are not yet known to hold the writes)."""


def _fields(**kw: object) -> dict[str, dict[str, object]]:
    return {"fields": kw}


def _address(field: str, value: str | Address, default_port: int | None = None) -> Address:
    if isinstance(value, tuple):
        host, port = value
        if not isinstance(host, str) or not isinstance(port, int) or not 0 <= port <= 65535:
            raise ConfigError(f"{field}: bad address {value!r}", field=field)
        return host, port
    if not isinstance(value, str):
        raise ConfigError(f"{field}: expected 'HOST:PORT', got {value!r}", field=field)
    try:
        return parse_address(value, default_port=default_port)
    except AddressError as exc:
        raise ConfigError(f"{field}: {exc}", field=field) from exc


def _config(value: MeshConfig | str | None) -> MeshConfig:
    if value is None:
        return MeshConfig.lan()
    if isinstance(value, MeshConfig):
        return value
    if isinstance(value, str) and value.lower() in PROFILES:
        profile: MeshConfig = getattr(MeshConfig, value.lower())()
        return profile
    raise ConfigError(
        f"config: expected a MeshConfig or one of {', '.join(PROFILES)}, got {value!r}",
        field="config",
    )


def _keyring(value: bytes | str | os.PathLike[str] | Keyring | None) -> Keyring | None:
    if value is None or isinstance(value, Keyring):
        return value
    if isinstance(value, bytes | bytearray):
        try:
            return Keyring(bytes(value))
        except ValueError as exc:
            raise ConfigError(f"key: {exc}", field="key") from exc
    if isinstance(value, str | os.PathLike):
        return load_keyring(Path(value), field="key")
    raise ConfigError(f"key: expected bytes or a key file path, got {value!r}", field="key")


def _check_host_id(host_id: object) -> str:
    if not isinstance(host_id, str) or not host_id.strip():
        raise ConfigError(f"host_id: expected a non-empty string, got {host_id!r}", field="host_id")
    if len(host_id) > 128 or any(not c.isprintable() or c.isspace() for c in host_id):
        raise ConfigError(
            f"host_id: at most 128 printable non-space characters: {host_id!r}", field="host_id"
        )
    return host_id


class _EventFeed:
    """One ``events()`` consumer's bounded buffer."""

    __slots__ = ("dropped", "events", "ready")

    def __init__(self) -> None:
        self.events: deque[Event] = deque(maxlen=EVENT_BUFFER)
        self.ready = asyncio.Event()
        self.dropped = 0

    def push(self, event: Event) -> None:
        if len(self.events) == EVENT_BUFFER:
            self.dropped += 1
        self.events.append(event)
        self.ready.set()


class EventStream:
    """What ``Mesh.events()`` returns: an async iterator of typed events, subscribed from
    the moment it was made (so nothing between the call and the first ``await`` is lost)."""

    def __init__(self, owner: Mesh) -> None:
        self._owner = owner
        self._feed = _EventFeed()
        owner._feeds.add(self._feed)
        self._done = False

    def __aiter__(self) -> EventStream:
        return self

    async def __anext__(self) -> Event:
        feed = self._feed
        while not feed.events:
            if self._done or self._owner._closed:
                await self.aclose()
                raise StopAsyncIteration
            feed.ready.clear()
            await feed.ready.wait()
        return feed.events.popleft()

    def __del__(self) -> None:
        self._owner._feeds.discard(self._feed)  # abandoned without aclose()

    async def aclose(self) -> None:
        """Stop receiving events."""
        if not self._done:
            self._done = True
            self._owner._feeds.discard(self._feed)
            self._owner._count("events_dropped", self._feed.dropped)
            self._feed.ready.set()


@dataclass(frozen=True, slots=True)
class RestoreReport:
    """What start() found in the data dir (figures for logs and benchmarks)."""

    snapshot_tables: int
    log_records: int
    log_segments: int
    torn_segments: int
    seconds: float


class Mesh:
    """One member of a state mesh. ``async with Mesh(...) as m:`` binds, starts and joins
    the seeds; leaving the block leaves gracefully and closes every socket. Or call
    ``await m.start()`` and ``await m.close()``.

    ``bind`` may use port 0 (``m.address`` then tells the port). ``key`` is an AES key
    (16, 24 or 32 bytes) or the path of a key file; members with different keys never see
    each other's data. ``data_dir`` makes writes durable (see :meth:`flush`). ``config`` is
    a :class:`MeshConfig` or a profile name: ``"lan"`` (default), ``"wan"``, ``"local"``.

    Raises :class:`ConfigError` (naming the field) for bad arguments, at construction, and
    :class:`BindError` from start() when the address cannot be bound."""

    def __init__(
        self,
        host_id: str,
        *,
        bind: str | Address = DEFAULT_BIND,
        seeds: Iterable[str | Address] = (),
        key: bytes | str | os.PathLike[str] | Keyring | None = None,
        data_dir: str | os.PathLike[str] | None = None,
        config: MeshConfig | str | None = None,
        advertise: str | Address | None = None,
        underlay: str | None = None,
        api: Address | None = None,
        snapshot_interval: float = 10.0,
        leave_timeout: float = 1.0,
        fsync: bool = True,
        rejoin: bool = True,
        transport: TransportSettings | None = None,
    ) -> None:
        self.host_id = _check_host_id(host_id)
        self._bind_addr = _address("bind", bind, 7946)
        if isinstance(seeds, str):
            raise ConfigError("seeds: expected a list of 'HOST:PORT' strings", field="seeds")
        self._seeds = [_address("seeds", s, 7946) for s in seeds]
        self._advertise = (
            None if advertise is None else _address("advertise", advertise, self._bind_addr[1])
        )
        if self._advertise is None and is_wildcard(self._bind_addr[0]):
            raise ConfigError(
                f"bind: {self._bind_addr[0]} cannot be advertised to peers; set advertise too",
                field="bind",
            )
        if self._advertise is not None and self._advertise[1] == 0:
            raise ConfigError("advertise: port 0 cannot be advertised", field="advertise")
        self.config = _config(config)
        self.keyring = _keyring(key)
        self.data_dir = None if data_dir is None else Path(data_dir)
        for name, value in (
            ("snapshot_interval", snapshot_interval),
            ("leave_timeout", leave_timeout),
        ):
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise ConfigError(f"{name}: expected seconds >= 0, got {value!r}", field=name)
        self.snapshot_interval = max(0.1, float(snapshot_interval))
        self.leave_timeout = float(leave_timeout)
        self._underlay = underlay
        self._api = api
        self._fsync = fsync
        self._rejoin = rejoin
        frame = max(
            self.config.max_incoming_stream_bytes, self.config.max_stream_bytes + (64 << 10)
        )
        self._transport = transport or TransportSettings(
            max_stream_bytes=frame,
            mtu=self.config.mtu,
            frame_timeout=max(0.1, self.config.stream_frame_timeout),
            max_inbound_streams=max(1, self.config.max_inbound_streams),
            max_pending_streams=max(1, self.config.max_pending_streams),
            max_streams_per_source=max(1, self.config.max_streams_per_source),
        )
        self._tables: dict[str, ReplicatedTable[CRDT]] = {}
        self._node: MeshNode | None = None
        self._driver: NodeDriver | None = None
        self._wal: WriteAheadLog | None = None
        self._unclaimed: dict[str, CRDT] = {}
        """Restored state of tables in the data dir that nobody declared yet."""
        self._incarnation_floor = 0
        self._listeners: list[Callable[[Event], None]] = []
        self._feeds: set[_EventFeed] = set()
        self._tasks: list[asyncio.Task[None]] = []
        self._writing: asyncio.Future[None] | None = None
        self._external = False
        self._opened = False
        self._joined = False
        self._closed = False
        self._dirty = True
        self._counts: dict[str, int] = {
            "snapshots_written": 0,
            "snapshot_failures": 0,
            "restore_errors": 0,
        }
        self.restored: RestoreReport | None = None

    # -- lifecycle -----------------------------------------------------------------------

    async def __aenter__(self) -> Mesh:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def start(self) -> None:
        """Bind, start the protocol and join the seeds (returns at once; joining goes on
        in the background, and seeds that are not up yet are retried)."""
        await self.open()
        await self.join()

    async def open(self) -> None:
        """The first half of start(): read the data dir, bind, build the node and its
        tables, run the protocol, but contact nobody yet (meshd wires its API and
        extensions in between)."""
        if self._opened:
            return
        if self._closed:
            raise RuntimeError("a closed Mesh cannot be started again; make a new one")
        snap, replay = self._read_data_dir()
        driver = NodeDriver(self._bind_addr, self._transport, keyring=self.keyring)
        try:
            bound = await driver.bind()
        except OSError as exc:
            await driver.close()
            raise BindError(
                format_address(self._bind_addr), exc.strerror or str(exc), exc.errno
            ) from exc
        self._driver = driver
        advertise = self._advertise or bound
        meta = MemberMeta(
            host_id=self.host_id,
            gossip=advertise,
            underlay=self._underlay or advertise[0],
            api=self._api,
        )
        node = MeshNode(self.config, meta, rng=random.Random(), keyring=self.keyring)
        self._node = node
        if self._incarnation_floor:
            # start above what peers may last have heard (dead, suspect), so our first
            # alive outbids it without a refutation round
            node.membership.restore_incarnation(self._incarnation_floor)
        for table in self._tables.values():
            self._declare(table)
        if self._wal is not None:
            self._wal.append(IncarnationRecord(node.membership.incarnation))
            await self._wal.flush()
            node.add_write_hook(self._log_write)
        driver.attach(node)
        driver.add_listener(self._on_event)
        driver.start()
        self._opened = True
        if replay is not None or snap is not None:
            log.info("data dir restored", extra=_fields(**vars_of(self.restored)))

    async def join(self, seeds: Sequence[str | Address] | None = None) -> None:
        """Contact the seeds (the constructor's unless given). While nobody else is alive,
        the seeds are contacted again with a growing delay (up to 10 s)."""
        driver, node = self._running()
        if seeds is not None:
            self._seeds = [_address("seeds", s, 7946) for s in seeds]
        own = {self._bind_addr, node.meta.gossip, driver.bound_address}
        targets = [s for s in self._seeds if s not in own]
        await driver.join(targets)
        self._joined = True
        if targets and self._rejoin and not self._tasks_named("rejoin"):
            self._spawn(self._rejoin_loop(targets), "rejoin")
        if self.data_dir is not None and not self._tasks_named("snapshot"):
            self._spawn(self._snapshot_loop(), "snapshot")

    async def close(self) -> None:
        """Leave gracefully (peers see ``left``), write a final snapshot, close every
        socket and file. Safe to call twice, and after a failed start."""
        if self._closed:
            return
        self._closed = True
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
        if self._writing is not None:
            with contextlib.suppress(Exception):
                await self._writing  # never let an older snapshot land after the final one
        driver = self._driver
        if self._joined and driver is not None:
            await driver.leave(self.leave_timeout)
        if self._opened and self.data_dir is not None:
            try:
                await self._snapshot_now()
            except Exception as exc:
                log.error("final snapshot failed", extra=_fields(error=repr(exc)))
        if self._wal is not None:
            with contextlib.suppress(Exception):
                await self._wal.close()
        if driver is not None:
            await driver.close()
        for table in self._tables.values():
            table._unbind()
        for feed in self._feeds:
            feed.ready.set()

    # -- tables --------------------------------------------------------------------------

    def table(self, name: str, factory: Callable[[], S]) -> ReplicatedTable[S]:
        """Declare (or return) the replicated table ``name`` holding a ``factory()`` CRDT,
        e.g. ``m.table("inventory", lambda: ORMap(LWWRegister))``. Every member that
        declares the same name shares it (declare it with the same CRDT type everywhere).
        Declared before start(), it is restored from the data dir when the Mesh starts."""
        if not isinstance(name, str) or not name:
            raise ConfigError(f"table: expected a non-empty name, got {name!r}", field="table")
        existing = self._tables.get(name)
        if existing is not None:
            return cast("ReplicatedTable[S]", existing)
        table: ReplicatedTable[S] = ReplicatedTable(name, factory, self)
        erased = cast("ReplicatedTable[CRDT]", table)  # the mesh keeps every kind of table
        self._tables[name] = erased
        if self._node is not None:
            self._declare(erased)
        return table

    def tables(self) -> dict[str, ReplicatedTable[CRDT]]:
        """Every declared table by name."""
        return dict(self._tables)

    def _declare(self, table: ReplicatedTable[CRDT]) -> None:
        assert self._node is not None
        core = self._node.table(table.name, table.factory)
        restored = self._unclaimed.pop(table.name, None)
        if restored is not None:
            state: CRDT = restored
            try:
                core.mutate(lambda _s: state, now=self.now())
            except (TypeError, ValueError, AttributeError) as exc:
                self._counts["restore_errors"] += 1
                log.error("cannot restore table", extra=_fields(table=table.name, error=str(exc)))
        table._bind(core)

    # -- durability and replication ------------------------------------------------------

    async def flush(self) -> None:
        """Return once every local write made before the call is on disk (the data dir's
        write-ahead log, synced; concurrent callers share one sync). Without a data dir it
        returns at once: a write then lives in memory until it has spread to others.
        Raises :class:`mesh.wal.WalError` if the disk refused the write."""
        if self._wal is not None:
            await self._wal.flush()

    async def wait_replicated(self, n: int, timeout: float = 5.0) -> int:
        """Return once at least ``n`` other members are known to hold every local write
        made before the call (learned from push-pull exchanges, which this starts with
        the members that lag); returns how many do. :class:`ReplicationTimeout` after
        ``timeout`` seconds (the writes stay applied and keep spreading)."""
        if n <= 0:
            return 0
        driver, node = self._running()
        written = node.written()
        deadline = time.monotonic() + timeout
        held = node.holders(written)
        while len(held) < n:
            others = {
                m.meta.host_id
                for m in node.members()
                if m.state is MemberState.ALIVE and m.meta.host_id != self.host_id
            }
            lagging = others - held
            if lagging:
                driver.step(functools.partial(_sync_with, node, lagging))
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ReplicationTimeout(len(held), n, timeout)
            await asyncio.sleep(min(REPLICATION_POLL, remaining))
            held = node.holders(written)
        return len(held)

    # -- members, events, metrics --------------------------------------------------------

    @property
    def address(self) -> str:
        """The bound gossip address as ``"host:port"`` (the real port when bind used 0)."""
        driver, _node = self._running()
        return format_address(driver.bound_address)

    @property
    def node(self) -> MeshNode:
        """The protocol core (advanced use: the daemon and extensions)."""
        return self._running()[1]

    def members(self) -> list[Member]:
        """Every known member, this one included: state (alive, suspect, dead, left),
        incarnation and metadata. Empty before start()."""
        if self._node is None:
            return []
        return sorted(self._node.members(), key=lambda m: m.meta.host_id)

    def events(self) -> EventStream:
        """``async for ev in m.events():`` member changes (:class:`MemberChanged`) and
        table changes (:class:`TableChanged`) from this call on, oldest first; ends when
        the Mesh closes (or call ``aclose()``). A consumer that falls behind by more than
        10,000 events loses the oldest (counted as ``mesh.events_dropped``)."""
        return EventStream(self)

    def on_event(self, listener: Callable[[Event], None]) -> Callable[[], None]:
        """Call ``listener(event)`` on the loop for every event; returns the unsubscribe
        function (``events()`` is the async form)."""
        self._listeners.append(listener)

        def unsubscribe() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return unsubscribe

    def metrics(self) -> dict[str, float]:
        """The counters as a flat ``name -> value`` map: ``messages_in.<kind>``,
        ``bytes_out.<kind>``, ``drops.<reason>`` (``drops.auth``, ``drops.malformed``...:
        input from peers that was refused), ``transport.<reason>``, ``wal.*``,
        ``members.<state>`` and more."""
        out: dict[str, float] = {f"mesh.{k}": float(v) for k, v in self._counts.items()}
        node = self._node
        if node is not None:
            m = node.metrics
            for prefix, counter in (
                ("messages_in", m.messages_in),
                ("messages_out", m.messages_out),
                ("bytes_in", m.bytes_in),
                ("bytes_out", m.bytes_out),
                ("drops", m.drops),
            ):
                for key, value in counter.items():
                    out[f"{prefix}.{key}"] = float(value)
            out["deltas_applied"] = float(m.deltas_applied)
            out["states_applied"] = float(m.states_applied)
            out["push_pulls"] = float(m.push_pulls)
            out["convergence_lag_max"] = m.convergence_lag_max
            out["convergence_lag_last"] = m.convergence_lag_last
            for state in MemberState:
                out[f"members.{state.value}"] = 0.0
            for member in node.members():
                out[f"members.{member.state.value}"] += 1.0
        if self._driver is not None:
            for key, count in self._driver.counters.counts.items():
                out[f"transport.{key}"] = float(count)
        if self._wal is not None:
            w = self._wal
            out["wal.records"] = float(w.records)
            out["wal.bytes"] = float(w.bytes)
            out["wal.syncs"] = float(w.syncs)
            out["wal.failures"] = float(w.failures)
            out["wal.pending"] = float(w.pending)
        return out

    # -- clock and hooks (for tables, meshd and extensions) ------------------------------

    def now(self) -> float:
        """The clock that drives the node (Unix seconds, monotonic within the process)."""
        driver, _node = self._running()
        return driver.now()

    def wake(self) -> None:
        """Tell the transport a local write happened, so it is gossiped at once."""
        if self._driver is not None:
            self._driver.wake()

    def set_external_members(self, metas: Sequence[MemberMeta] | None) -> None:
        """ZooKeeper mode: membership comes from outside (None returns to SWIM gossip);
        the seed retry loop then stays quiet."""
        driver, node = self._running()
        self._external = metas is not None
        driver.step(lambda _now: node.set_external_members(metas))

    @property
    def transport_counts(self) -> dict[str, int]:
        """Failures the socket shell counted (also in metrics() as ``transport.*``)."""
        return dict(self._driver.counters.counts) if self._driver is not None else {}

    # -- internals -----------------------------------------------------------------------

    def _count(self, name: str, n: int = 1) -> None:
        self._counts[name] = self._counts.get(name, 0) + n

    def _running(self) -> tuple[NodeDriver, MeshNode]:
        if self._driver is None or self._node is None or self._closed:
            raise RuntimeError("the Mesh is not running: use 'async with' or await start()")
        return self._driver, self._node

    def _spawn(self, coro: Coroutine[None, None, None], name: str) -> None:
        task = asyncio.get_running_loop().create_task(coro, name=f"mesh-{name}")
        self._tasks.append(task)

    def _tasks_named(self, name: str) -> bool:
        return any(t.get_name() == f"mesh-{name}" and not t.done() for t in self._tasks)

    def _log_write(self, table: Table[CRDT], delta: CRDT) -> None:
        if self._wal is not None:
            self._wal.append(DeltaRecord(table.name, crdt.encode(delta)))

    def _on_event(self, event: Event) -> None:
        if isinstance(event, TableChanged) or (
            isinstance(event, MemberChanged) and event.member.meta.host_id == self.host_id
        ):
            self._dirty = True
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:
                log.exception("event listener failed")
        for feed in self._feeds:
            feed.push(event)

    def _read_data_dir(self) -> tuple[Snapshot | None, Replay | None]:
        """Read the snapshot and replay the write-ahead log into ``_unclaimed``."""
        data_dir = self.data_dir
        if data_dir is None:
            return None, None
        started = time.perf_counter()
        try:
            data_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(
                f"data_dir {data_dir}: {exc.strerror or exc}", field="data_dir"
            ) from exc
        snap: Snapshot | None
        try:
            snap = read_snapshot(data_dir)
        except SnapshotError as exc:
            moved = quarantine(data_dir)
            log.error(
                "unreadable snapshot moved aside; starting empty",
                extra=_fields(error=str(exc), moved_to=str(moved)),
            )
            snap = None
        if snap is not None and snap.host_id != self.host_id:
            raise ConfigError(
                f"data_dir {data_dir} belongs to host {snap.host_id!r}, not {self.host_id!r}",
                field="data_dir",
            )
        try:
            wal, replay = WriteAheadLog.open(data_dir, fsync=self._fsync)
        except WalError as exc:
            raise ConfigError(f"data_dir {data_dir}: {exc}", field="data_dir") from exc
        self._wal = wal
        floor = snap.incarnation + 1 if snap is not None else 0
        states: dict[str, CRDT] = {}
        if snap is not None:
            for name, blob in snap.tables.items():
                self._restore_into(states, name, blob)
        for rec in replay.records:
            if isinstance(rec, IncarnationRecord):
                floor = max(floor, rec.incarnation + 1)
            else:
                self._restore_into(states, rec.table, rec.data)
        self._unclaimed = states
        self._incarnation_floor = floor
        self.restored = RestoreReport(
            snapshot_tables=len(snap.tables) if snap is not None else 0,
            log_records=len(replay.records),
            log_segments=replay.segments,
            torn_segments=replay.torn,
            seconds=time.perf_counter() - started,
        )
        return snap, replay

    def _restore_into(self, states: dict[str, CRDT], name: str, blob: bytes) -> None:
        try:
            value = crdt.decode(blob)
            have = states.get(name)
            if have is None:
                states[name] = value
            else:
                have.apply(value)
        except (crdt.DecodeError, TypeError, ValueError, AttributeError) as exc:
            self._counts["restore_errors"] += 1
            log.error("cannot restore a table record", extra=_fields(table=name, error=str(exc)))

    def _take_snapshot(self) -> tuple[Snapshot, int]:
        """Encode every table (on the loop: the node is not thread-safe) and start a new
        log segment in the same step, so the older segments are covered by it."""
        assert self._node is not None
        self._dirty = False
        tables = {name: crdt.encode(c) for name, c in self._unclaimed.items()}
        for name, core in self._node.tables.items():
            tables[name] = crdt.encode(core.state)
        segment = self._wal.rotate() if self._wal is not None else 0
        return Snapshot(self.host_id, self._node.membership.incarnation, tables), segment

    async def _snapshot_now(self) -> None:
        assert self.data_dir is not None
        if self._wal is not None:
            await self._wal.flush()
        snap, segment = self._take_snapshot()
        loop = asyncio.get_running_loop()
        self._writing = loop.run_in_executor(None, write_snapshot, self.data_dir, snap)
        try:
            await asyncio.shield(self._writing)
        except Exception:
            self._counts["snapshot_failures"] += 1
            self._dirty = True
            raise
        self._counts["snapshots_written"] += 1
        if self._wal is not None:
            self._wal.remove_before(segment)

    async def _snapshot_loop(self) -> None:
        """Every snapshot_interval, if anything changed: snapshot, then drop the log
        segments it covers (so the log never grows without bound)."""
        while True:
            await asyncio.sleep(self.snapshot_interval)
            if not self._dirty:
                continue
            try:
                await self._snapshot_now()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.error("snapshot failed", extra=_fields(error=repr(exc)))

    async def _rejoin_loop(self, seeds: list[Address]) -> None:
        """While we know nobody else alive, contact the seeds again (they may start later)."""
        delay = REJOIN_FIRST
        while True:
            await asyncio.sleep(delay)
            driver, node = self._running()
            others = [
                m
                for m in node.members()
                if m.meta.host_id != self.host_id
                and m.state in (MemberState.ALIVE, MemberState.SUSPECT)
            ]
            if others or self._external:
                delay = REJOIN_FIRST
                continue
            log.info("no live peers; contacting seeds again", extra=_fields(retry_in=delay))
            await driver.join(seeds)
            delay = min(delay * 2, REJOIN_MAX)


def _sync_with(node: MeshNode, hosts: set[str], now: float) -> list[Output]:
    return node.sync_with(now, hosts)


def vars_of(report: RestoreReport | None) -> dict[str, object]:
    """A restore report as log fields."""
    if report is None:
        return {}
    return {
        "snapshot_tables": report.snapshot_tables,
        "log_records": report.log_records,
        "log_segments": report.log_segments,
        "torn_segments": report.torn_segments,
        "seconds": round(report.seconds, 4),
    }
