"""Agent: one running meshd. Runs on the library's :class:`mesh.Mesh` (membership,
replication, the data dir's snapshot and write-ahead log) and adds the HTTP API,
extensions and ZooKeeper membership; starts them in order and stops them in reverse.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from aiohttp import web
from prometheus_client import CollectorRegistry, ProcessCollector

from crdt import CRDT, LWWRegister, ORMap
from mesh.api import ApiState, make_app
from mesh.api.metrics import NodeCollector
from mesh.daemon.config import ConfigError, DaemonConfig, mesh_config
from mesh.daemon.extensions import candidates, instantiate
from mesh.daemon.keyfile import read_token
from mesh.events import Event, MemberChanged
from mesh.extension import Extension, ExtensionContext
from mesh.member import MemberMeta
from mesh.mesh import Mesh
from mesh.node import MeshNode
from mesh.table import Table
from mesh.transport import format_address
from mesh.transport.address import is_wildcard

if TYPE_CHECKING:
    from mesh.daemon.zkbridge import ZkBridge

log = logging.getLogger("mesh.daemon")

KV_TABLE = "kv"


def _fields(**kw: object) -> dict[str, dict[str, object]]:
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
    mesh: Mesh | None = None
    tables: dict[str, Table[CRDT]] = field(default_factory=dict)
    api_address: tuple[str, int] | None = None
    _runner: web.AppRunner | None = None
    _extensions: list[_Loaded] = field(default_factory=list)
    _zk: ZkBridge | None = None
    _started: bool = False

    @property
    def node(self) -> MeshNode:
        """The running protocol core (RuntimeError before start)."""
        if self.mesh is None:
            raise RuntimeError("agent not started")
        return self.mesh.node

    # -- start -----------------------------------------------------------------------------

    async def start(self) -> None:
        """Bring everything up; ConfigError for configuration problems, OSError (BindError)
        for sockets."""
        cfg = self.cfg
        mcfg = mesh_config(cfg)
        token = read_token(cfg.api_token_file) if cfg.api_token_file else None
        loaded = self._load_extensions()
        api_sock = _bind_tcp(cfg.api)
        try:
            advertise = cfg.advertise or cfg.gossip
            api_host = advertise[0] if is_wildcard(cfg.api[0]) else cfg.api[0]
            self.api_address = (api_host, int(api_sock.getsockname()[1]))
            self.mesh = m = Mesh(
                cfg.host_id,
                bind=cfg.gossip,
                seeds=cfg.seeds,
                key=cfg.key_file,
                data_dir=cfg.data_dir,
                config=mcfg,
                advertise=cfg.advertise,
                underlay=cfg.underlay,
                api=self.api_address,
                snapshot_interval=cfg.snapshot_interval,
                leave_timeout=cfg.leave_timeout,
                fsync=cfg.wal_fsync,
                rejoin=not cfg.zookeeper,
            )
            m.table(KV_TABLE, lambda: ORMap(LWWRegister))
            self._declare_extension_tables(loaded)
            m.on_event(self._on_event)
            await m.open()
            self.tables = {name: t.core for name, t in m.tables().items()}

            registry = CollectorRegistry()
            collector = NodeCollector(lambda: m.node, lambda: m.transport_counts)
            registry.register(collector)
            ProcessCollector(registry=registry)
            state = ApiState(
                node=m.node,
                kv=self.tables[KV_TABLE],
                host_id=cfg.host_id,
                clock=m.now,
                on_write=m.wake,
                durable=m.flush,
                replicated=m.wait_replicated,
                max_body_bytes=cfg.max_body_bytes,
                registry=registry,
            )
            app = make_app(state, token=token)
            self._setup_extensions(loaded, app, m, collector)
            self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
            await self._runner.setup()
            await web.SockSite(self._runner, api_sock).start()
        except BaseException:
            api_sock.close()
            raise

        if cfg.zookeeper:
            await self._start_zookeeper(m.node.meta)
        await m.join()
        await self._start_extensions()
        self._started = True
        report = m.restored
        log.info(
            "meshd started",
            extra=_fields(
                host_id=cfg.host_id,
                gossip=format_address(m.node.meta.gossip),
                bind=m.address,
                api=format_address(self.api_address),
                seeds=",".join(format_address(s) for s in cfg.seeds) or "-",
                encrypted=m.keyring is not None,
                zookeeper=cfg.zookeeper or "-",
                extensions=",".join(x.ext.name for x in self._extensions) or "-",
                restored_records=report.log_records if report else 0,
                restore_seconds=round(report.seconds, 4) if report else 0,
            ),
        )

    # -- extensions ------------------------------------------------------------------------

    def _ext_config(self, name: str) -> dict[str, object]:
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
        assert self.mesh is not None
        for item in list(loaded):
            try:
                specs = list(item.ext.tables())
                for spec in specs:
                    if spec.name == KV_TABLE:
                        raise ValueError(f"table name {spec.name!r} is reserved")
                for spec in specs:
                    self.mesh.table(spec.name, spec.factory)
            except Exception as exc:
                loaded.remove(item)
                self._fail(item.source, item.ext.name, "tables", exc)

    def _setup_extensions(
        self, loaded: list[_Loaded], app: web.Application, m: Mesh, collector: NodeCollector
    ) -> None:
        for item in loaded:
            ctx = ExtensionContext(
                node=m.node,
                app=app,
                host_id=self.cfg.host_id,
                config=self._ext_config(item.ext.name),
                loop=asyncio.get_running_loop(),
                _tables=self.tables,
                _clock=m.now,
                _wake=m.wake,
                _register_metrics=collector.register,
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

    # -- ZooKeeper and events --------------------------------------------------------------

    async def _start_zookeeper(self, meta: MemberMeta) -> None:
        from mesh.daemon.zkbridge import ZkBridge

        assert self.cfg.zookeeper is not None and self.mesh is not None
        bridge = ZkBridge(
            self.cfg.zookeeper, self.cfg.zookeeper_root, meta, self.mesh.set_external_members
        )
        await bridge.start()
        self._zk = bridge

    def _on_event(self, event: Event) -> None:
        if isinstance(event, MemberChanged):
            m = event.member
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
        """Stop extensions, leave ZooKeeper, leave gracefully and write a final snapshot
        (the Mesh's close), then close the API."""
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
        if self._zk is not None:
            try:
                await asyncio.wait_for(self._zk.stop(), 5.0)
            except Exception as exc:
                log.warning("ZooKeeper stop failed", extra=_fields(error=repr(exc)))
        if self.mesh is not None:
            await self.mesh.close()
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
