"""Agent: one running meshd. Composes the MeshNode, its transport, the HTTP API, extensions,
ZooKeeper membership and data-dir snapshots; starts them in order and stops them in reverse.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import socket
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from prometheus_client import CollectorRegistry, ProcessCollector

from mesh.api import ApiState, make_app
from mesh.api.metrics import NodeCollector
from mesh.daemon.config import ConfigError, DaemonConfig, mesh_config
from mesh.daemon.extensions import candidates, instantiate
from mesh.daemon.keyfile import load_keyring, read_token
from mesh.daemon.persist import (
    Snapshot,
    SnapshotError,
    quarantine,
    read_snapshot,
    write_snapshot,
)
from mesh.events import MemberChanged, TableChanged
from mesh.extension import Extension, ExtensionContext
from mesh.member import MemberMeta
from mesh.transport import NodeDriver, TransportSettings, format_address
from mesh.transport.address import is_wildcard

log = logging.getLogger("mesh.daemon")

KV_TABLE = "kv"
REJOIN_FIRST = 0.5
REJOIN_MAX = 10.0


def _fields(**kw: Any) -> dict[str, Any]:
    return {"fields": kw}


@dataclass(eq=False)
class _Loaded:
    ext: Extension
    source: str
    required: bool
    ctx: ExtensionContext | None = None
    started: bool = False


@dataclass(eq=False)
class Agent:
    """Start with :meth:`start`, stop with :meth:`stop` (graceful leave)."""

    cfg: DaemonConfig
    node: Any = None
    driver: NodeDriver | None = None
    tables: dict[str, Any] = field(default_factory=dict)
    api_address: tuple[str, int] | None = None
    _runner: web.AppRunner | None = None
    _extensions: list[_Loaded] = field(default_factory=list)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _zk: Any = None
    _snapshot: Snapshot | None = None
    _started: bool = False
    _dirty: bool = True  # a table or our incarnation changed since the last snapshot
    _writing: asyncio.Future[None] | None = None  # snapshot write running in a thread

    # -- start -----------------------------------------------------------------------------

    async def start(self) -> None:
        """Bring everything up; ConfigError for configuration problems, OSError for sockets."""
        from crdt import LWWRegister, ORMap
        from mesh.node import MeshNode

        cfg = self.cfg
        mcfg = mesh_config(cfg)
        keyring = load_keyring(cfg.key_file) if cfg.key_file else None
        token = read_token(cfg.api_token_file) if cfg.api_token_file else None
        self._snapshot = self._read_snapshot()
        loaded = self._load_extensions()

        frame = max(mcfg.max_incoming_stream_bytes, mcfg.max_stream_bytes + (64 << 10))
        self.driver = driver = NodeDriver(
            cfg.gossip, TransportSettings(max_stream_bytes=frame, mtu=mcfg.mtu)
        )
        gossip = await driver.bind()
        api_sock = _bind_tcp(cfg.api)
        try:
            api_bound = api_sock.getsockname()[:2]
            advertise = cfg.advertise or gossip
            api_host = advertise[0] if is_wildcard(cfg.api[0]) else cfg.api[0]
            self.api_address = (api_host, int(api_bound[1]))
            meta = MemberMeta(
                host_id=cfg.host_id,
                gossip=advertise,
                underlay=cfg.underlay or advertise[0],
                api=self.api_address,
            )
            self.node = node = MeshNode(mcfg, meta, rng=random.Random(), keyring=keyring)
            self._restore_incarnation()
            self.tables[KV_TABLE] = node.table(KV_TABLE, lambda: ORMap(LWWRegister))
            self._declare_extension_tables(loaded)
            self._restore_tables()

            registry = CollectorRegistry()
            registry.register(NodeCollector(lambda: self.node, lambda: driver.counters.counts))
            ProcessCollector(registry=registry)
            state = ApiState(
                node=node,
                kv=self.tables[KV_TABLE],
                host_id=cfg.host_id,
                clock=driver.now,
                on_write=driver.wake,
                max_body_bytes=cfg.max_body_bytes,
                registry=registry,
            )
            app = make_app(state, token=token)
            self._setup_extensions(loaded, app)
            self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
            await self._runner.setup()
            await web.SockSite(self._runner, api_sock).start()
        except BaseException:
            api_sock.close()
            await driver.close()
            raise

        driver.attach(node)
        driver.add_listener(self._on_event)
        driver.start()
        if cfg.zookeeper:
            await self._start_zookeeper(meta)
        seeds = [s for s in cfg.seeds if s not in (gossip, advertise)]
        await driver.join(seeds)
        if seeds and not cfg.zookeeper:
            self._spawn(self._rejoin_loop(seeds))
        await self._start_extensions()
        if cfg.data_dir is not None:
            self._spawn(self._snapshot_loop())
        self._started = True
        log.info(
            "meshd started",
            extra=_fields(
                host_id=cfg.host_id,
                gossip=format_address(advertise),
                bind=format_address(gossip),
                api=format_address(self.api_address),
                seeds=",".join(format_address(s) for s in seeds) or "-",
                encrypted=keyring is not None,
                zookeeper=cfg.zookeeper or "-",
                extensions=",".join(x.ext.name for x in self._extensions) or "-",
            ),
        )

    def _restore_incarnation(self) -> None:
        """Start above the persisted incarnation, so that our first alive message outbids
        whatever peers last heard about us (dead, suspect) without a refutation round."""
        membership = getattr(self.node, "membership", None)
        if self._snapshot is None or not hasattr(membership, "incarnation"):
            return
        membership.incarnation = max(membership.incarnation, self._snapshot.incarnation + 1)  # type: ignore[union-attr]

    def _read_snapshot(self) -> Snapshot | None:
        data_dir = self.cfg.data_dir
        if data_dir is None:
            return None
        try:
            data_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(f"data_dir {data_dir}: {exc.strerror or exc}") from exc
        try:
            snap = read_snapshot(data_dir)
        except SnapshotError as exc:
            moved = quarantine(data_dir)
            log.error(
                "unreadable snapshot moved aside; starting empty",
                extra=_fields(error=str(exc), moved_to=str(moved)),
            )
            return None
        if snap is not None and snap.host_id != self.cfg.host_id:
            raise ConfigError(
                f"data_dir {data_dir} belongs to host {snap.host_id!r}, not {self.cfg.host_id!r}"
            )
        return snap

    def _restore_tables(self) -> None:
        from crdt import DecodeError, decode

        snap = self._snapshot
        if snap is None:
            return
        assert self.driver is not None
        for name, blob in snap.tables.items():
            table = self.tables.get(name)
            if table is None:
                log.warning("snapshot has an undeclared table; skipped", extra=_fields(table=name))
                continue
            try:
                saved = decode(blob)
                table.mutate(lambda _s, saved=saved: saved, now=self.driver.now())
            except (DecodeError, ValueError, TypeError) as exc:
                log.error("cannot restore table", extra=_fields(table=name, error=str(exc)))
                continue
            log.info("table restored", extra=_fields(table=name, bytes=len(blob)))

    def _take_snapshot(self) -> Snapshot:
        """Encode every table and our incarnation (on the loop: the node is not thread-safe)."""
        from crdt import encode

        self._dirty = False
        tables = {name: encode(t.state) for name, t in self.tables.items()}
        return Snapshot(self.cfg.host_id, self._own_incarnation(), tables)

    def write_snapshot(self) -> None:
        """Persist every table and our incarnation now (no-op without a data dir)."""
        if self.cfg.data_dir is None or self.node is None:
            return
        write_snapshot(self.cfg.data_dir, self._take_snapshot())

    def _own_incarnation(self) -> int:
        for m in self.node.members():
            if m.meta.host_id == self.cfg.host_id:
                return int(m.incarnation)
        return 0

    # -- extensions ------------------------------------------------------------------------

    def _ext_config(self, name: str) -> dict[str, Any]:
        return dict(self.cfg.extensions.get(name, {}))

    def _required(self, name: str) -> bool:
        return bool(self._ext_config(name).get("required", False))

    def _fail(self, source: str, name: str | None, phase: str, exc: BaseException) -> None:
        required = name is not None and self._required(name)
        log.error(
            "extension failed; continuing without it" if not required else "extension failed",
            exc_info=exc,
            extra=_fields(extension=name or source, phase=phase, error=repr(exc)),
        )
        if required:
            raise ConfigError(f"required extension {name} failed in {phase}: {exc!r}") from exc

    def _load_extensions(self) -> list[_Loaded]:
        loaded: list[_Loaded] = []
        names: set[str] = set()
        for cand in candidates(self.cfg.extension_refs, self.cfg.entry_points):
            if cand.source in self.cfg.disabled_extensions:
                continue
            try:
                ext = instantiate(cand.ref)
            except Exception as exc:
                self._fail(cand.source, cand.source, "load", exc)
                continue
            if ext.name in self.cfg.disabled_extensions:
                continue
            if ext.name in names:
                log.warning("duplicate extension name; skipped", extra=_fields(extension=ext.name))
                continue
            names.add(ext.name)
            loaded.append(_Loaded(ext, cand.source, self._required(ext.name)))
        for name, section in self.cfg.extensions.items():
            if section.get("required") and name not in names:
                raise ConfigError(f"required extension {name} was not found")
        return loaded

    def _declare_extension_tables(self, loaded: list[_Loaded]) -> None:
        for item in list(loaded):
            try:
                specs = list(item.ext.tables())
                for spec in specs:
                    if spec.name in self.tables and spec.name == KV_TABLE:
                        raise ValueError(f"table name {spec.name!r} is reserved")
                for spec in specs:
                    self.tables[spec.name] = self.node.table(spec.name, spec.factory)
            except Exception as exc:
                loaded.remove(item)
                self._fail(item.source, item.ext.name, "tables", exc)

    def _setup_extensions(self, loaded: list[_Loaded], app: web.Application) -> None:
        assert self.driver is not None
        for item in loaded:
            ctx = ExtensionContext(
                node=self.node,
                app=app,
                host_id=self.cfg.host_id,
                config=self._ext_config(item.ext.name),
                loop=asyncio.get_running_loop(),
                _tables=self.tables,
                _clock=self.driver.now,
                _wake=self.driver.wake,
            )
            try:
                item.ext.setup(ctx)
            except Exception as exc:
                self._fail(item.source, item.ext.name, "setup", exc)
                continue
            item.ctx = ctx
            self._extensions.append(item)

    async def _start_extensions(self) -> None:
        for item in list(self._extensions):
            try:
                await item.ext.start()
                item.started = True
            except Exception as exc:
                self._extensions.remove(item)
                if item.ctx is not None:
                    await item.ctx.cancel_tasks()
                self._fail(item.source, item.ext.name, "start", exc)

    # -- background work -------------------------------------------------------------------

    def _spawn(self, coro: Any) -> None:
        self._tasks.append(asyncio.get_running_loop().create_task(coro))

    async def _snapshot_loop(self) -> None:
        """Every snapshot_interval, if anything changed: encode on the loop, write (and
        fsync) in a thread so the loop keeps serving."""
        assert self.cfg.data_dir is not None
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(self.cfg.snapshot_interval)
            if not self._dirty:
                continue
            try:
                snap = self._take_snapshot()
                self._writing = loop.run_in_executor(None, write_snapshot, self.cfg.data_dir, snap)
                await asyncio.shield(self._writing)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._dirty = True
                log.error("snapshot failed", extra=_fields(error=repr(exc)))

    async def _rejoin_loop(self, seeds: list[tuple[str, int]]) -> None:
        """While we know nobody else alive, contact the seeds again (they may start later)."""
        assert self.driver is not None
        delay = REJOIN_FIRST
        while True:
            await asyncio.sleep(delay)
            others = [
                m
                for m in self.node.members()
                if m.meta.host_id != self.cfg.host_id and m.state.value in ("alive", "suspect")
            ]
            if others:
                delay = REJOIN_FIRST
                continue
            log.info("no live peers; contacting seeds again", extra=_fields(retry_in=delay))
            await self.driver.join(seeds)
            delay = min(delay * 2, REJOIN_MAX)

    async def _start_zookeeper(self, meta: MemberMeta) -> None:
        from mesh.daemon.zkbridge import ZkBridge

        assert self.cfg.zookeeper is not None
        bridge = ZkBridge(
            self.cfg.zookeeper, self.cfg.zookeeper_root, meta, self._set_external_members
        )
        await bridge.start()
        self._zk = bridge

    def _set_external_members(self, metas: list[MemberMeta]) -> None:
        assert self.driver is not None
        self.driver.step(lambda _now: self.node.set_external_members(metas))

    def _on_event(self, event: Any) -> None:
        if isinstance(event, TableChanged):
            self._dirty = True
        elif isinstance(event, MemberChanged):
            m = event.member
            if m.meta.host_id == self.cfg.host_id:
                self._dirty = True
            log.info(
                "member changed",
                extra=_fields(
                    member=m.meta.host_id,
                    state=m.state.value,
                    incarnation=m.incarnation,
                    gossip=format_address(m.meta.gossip),
                ),
            )

    # -- stop ------------------------------------------------------------------------------

    async def stop(self) -> None:
        """Stop extensions, leave gracefully, write a final snapshot, close everything."""
        for item in reversed(self._extensions):
            try:
                if item.started:
                    await asyncio.wait_for(item.ext.stop(), 5.0)
            except Exception as exc:
                log.error(
                    "extension stop failed", extra=_fields(extension=item.ext.name, error=repr(exc))
                )
            if item.ctx is not None:
                await item.ctx.cancel_tasks()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._zk is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._zk.stop(), 5.0)
        if self._writing is not None:
            with contextlib.suppress(Exception):
                await self._writing  # never let an older snapshot land after the final one
        if self._started and self.driver is not None:
            await self.driver.leave(self.cfg.leave_timeout)
            try:
                self.write_snapshot()
            except Exception as exc:
                log.error("final snapshot failed", extra=_fields(error=repr(exc)))
        if self.driver is not None:
            await self.driver.close()
        if self._runner is not None:
            await self._runner.cleanup()
        if self._started:
            log.info("meshd stopped", extra=_fields(host_id=self.cfg.host_id))


def _bind_tcp(addr: tuple[str, int]) -> socket.socket:
    """Bind (and listen on) the API socket now, so its real port is known before the node
    is built (its address is part of our member metadata)."""
    family = socket.AF_INET6 if ":" in addr[0] else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(addr)
        sock.listen(128)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock
