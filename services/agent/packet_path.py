"""The agent's packet path (asyncio shell): upcall -> simulate -> translate -> install -> execute.

One reader task moves upcalls from the datapath into a bounded queue (full: counted and
dropped, never blocking the datapath); one worker handles them one at a time with its own
error handling, so a failing simulation costs only its own packet. A change task turns
topology and learned-state changes into invalidation tags and deletes the flows carrying
them; a timer task deletes flows whose hard timeout passed. Every decision is in pure code:
simulation and ``translate``, ``flowtrack`` (installed flows), ``arp_policy`` (packets waiting
on ARP), ``races`` (flows computed during an invalidation), ``changes`` (pending table
changes), ``bindings`` (which ports are attached); this module wires them to the queue, the
datapath and the mesh.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import errno
import logging
import time
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from datapath.api import Datapath, DatapathError, PortType, Upcall
from datapath.flow.actions import Output
from datapath.flow.key import ETH_TYPE_ARP, ETH_TYPE_IPV4
from mesh.counters import Counters
from services.agent.arp_policy import ArpConfig, ArpPolicy, Waiting, WithAttempts
from services.agent.bindings import Binding, BindingTable, wanted
from services.agent.changes import PendingChanges
from services.agent.counters import new_counters
from services.agent.flowtrack import FlowTracker, TrackedFlow
from services.agent.frames import frame_for
from services.agent.races import InvalidationLog
from services.agent.report import (
    FlowJson,
    bindings_json,
    counters_json,
    flow_json,
    latency_json,
    underlay_json,
)
from services.agent.translate import (
    FlowPlan,
    LocalView,
    TranslationError,
    key_of,
    packet_of,
    translate,
    tunnel_flow,
)
from services.simulation import emit, simulate
from services.simulation.invalidation import topology_tags
from services.simulation.packet import Packet
from services.simulation.result import (
    ArpLearned,
    Decision,
    Emit,
    MacLearned,
    SimulationResult,
    StateUpdate,
    Tag,
)
from services.simulation.state import StateView
from services.topology.snapshot import Topology

log = logging.getLogger("services.agent")

SLOW_SIMULATION = 0.05  # seconds: a simulation slower than this is counted as slow


@dataclass(frozen=True, slots=True)
class PathConfig:
    """Tunables of the packet path (every one has a reason)."""

    max_flows: int = 10000  # cap on installed flows; the soonest-expiring go first
    queue_size: int = 1024  # upcalls waiting for the worker; beyond: dropped and counted
    expiry_interval: float = 0.5  # how often hard timeouts are enforced (seconds)
    member_interval: float = 1.0  # how often peers' underlay addresses are re-read
    bind_retry: float = 1.0  # how often a binding whose interface is missing is retried
    arp_forget: float = 10.0  # after this, unanswered ARP attempts start over
    tunnel_port_name: str = "vnm_vxlan"
    vxlan_port: int = 4789
    yield_every: int = 32  # the worker yields to the loop after this many upcalls
    arp_hold: float = 1.0  # a packet waiting on ARP is re-simulated after this (seconds)
    arp_hold_per_hop: int = 8  # packets held per (router, next hop); beyond: oldest dropped
    arp_hold_total: int = 256  # packets held in all; beyond: the new one is dropped
    arp_max_holds: int = 4  # times one packet is held before it is dropped (counted)

    def arp(self) -> ArpConfig:
        """The ARP holding policy's part of the configuration."""
        return ArpConfig(
            hold=self.arp_hold,
            per_hop=self.arp_hold_per_hop,
            total=self.arp_hold_total,
            max_holds=self.arp_max_holds,
            forget=self.arp_forget,
        )


class Sources(Protocol):
    """What the packet path reads from (and writes to) meshd's replicated tables."""

    def topology(self) -> Topology:
        """The current topology snapshot."""
        ...

    def state(self) -> StateView:
        """Learned MAC and ARP entries."""
        ...

    def underlay(self) -> dict[str, int]:
        """host id -> underlay IPv4 of the live members (ours included)."""
        ...

    def commit(self, updates: Sequence[StateUpdate]) -> None:
        """Write learned state to the replicated tables."""
        ...


_Queued = Upcall | Waiting[Upcall]  # a fresh upcall, or a held one going back


class PacketPath:
    """The packet path of one host over one datapath backend."""

    def __init__(
        self,
        dp: Datapath,
        host_id: str,
        sources: Sources,
        config: PathConfig | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.dp = dp
        self.host_id = host_id
        self.src = sources
        self.cfg = config or PathConfig()
        self.clock = clock
        self.counters: Counters = new_counters()
        self.tracker = FlowTracker(self.cfg.max_flows)
        self.table = BindingTable()
        self.arp: ArpPolicy[Upcall] = ArpPolicy(self.cfg.arp(), self.counters)
        self.changes = PendingChanges()
        self.races = InvalidationLog()
        self.tunnel_no: int | None = None
        self.latencies: collections.deque[float] = collections.deque(maxlen=4096)
        self._queue: asyncio.Queue[_Queued] = asyncio.Queue(self.cfg.queue_size)
        self._topo: Topology | None = None
        self._underlay: dict[str, int] = {}
        self._changed = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._bind_pending = False
        self._last_error_log = 0.0
        self._local: LocalView | None = None

    @property
    def bindings(self) -> Mapping[str, Binding]:
        """Port id -> binding of the ports attached to this datapath (read-only)."""
        return self.table.by_id()

    def queued(self) -> int:
        """Upcalls waiting for the worker."""
        return self._queue.qsize()

    # ------------------------------------------------------------------ lifecycle

    async def start(self, worker: bool = True) -> None:
        """Create the tunnel port, bind local ports, start the tasks. ``worker=False``:
        upcalls are read and queued but nothing handles them (a caller drives handle())."""
        info = await self.dp.add_tunnel_port(
            self.cfg.tunnel_port_name, PortType.VXLAN, self.cfg.vxlan_port
        )
        self.tunnel_no = info.port_no
        self._underlay = self.src.underlay()
        self._local = None
        self._topo = self.src.topology()
        await self.sync_bindings()
        loop = asyncio.get_running_loop()
        tasks = [self._reader(), self._changes(), self._timers()]
        if worker:
            tasks.append(self._worker())
        for coro in tasks:
            self._tasks.append(loop.create_task(coro))

    async def stop(self) -> None:
        """Stop the tasks (the datapath is closed by its owner)."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()

    # ------------------------------------------------------------------ change events

    def topology_changed(self, keys: frozenset[Hashable] | None = None) -> None:
        """A topology table changed (called from table subscriptions; cheap)."""
        self.changes.topology()
        self._changed.set()

    def macs_changed(self, keys: frozenset[Hashable]) -> None:
        """Learned MAC entries changed: flows that depended on them go."""
        self.changes.macs(keys)
        self._changed.set()

    def arps_changed(self, keys: frozenset[Hashable]) -> None:
        """Learned ARP entries changed: flows that depended on them go, packets waiting on
        them go back through the worker."""
        for hop in self.changes.arps(keys):
            self._requeue(self.arp.learned(hop))
        self._changed.set()

    def _requeue(self, items: list[Waiting[Upcall]]) -> None:
        """Send held upcalls back through the worker (re-simulated, installed, executed)."""
        for item in items:
            try:
                self._queue.put_nowait(item)
            except asyncio.QueueFull:
                self.counters.inc("arp_wait_requeue_dropped")

    async def _changes(self) -> None:
        while True:
            await self._changed.wait()
            self._changed.clear()
            try:
                await self.process_changes()
            except Exception:
                self.counters.inc("change_errors")
                log.exception("processing a table change failed")

    async def process_changes(self) -> None:
        """Turn pending change marks into invalidations and binding updates."""
        tags, topology_dirty = self.changes.take()
        if topology_dirty:
            new = self.src.topology()
            if self._topo is not None:
                tags |= topology_tags(self._topo, new)
            self._topo = new
        if tags:
            await self.invalidate(tags)
        if topology_dirty:
            await self.sync_bindings()

    async def invalidate(self, tags: Iterable[Tag]) -> int:
        """Delete every flow carrying one of `tags`; returns how many."""
        tags = frozenset(tags)
        self.races.invalidated(tags)
        ufids = self.tracker.invalidate(tags)
        for ufid in ufids:
            await self._delete(ufid)
        self.counters.inc("flows_invalidated", len(ufids))
        return len(ufids)

    async def _delete(self, ufid: bytes) -> None:
        try:
            await self.dp.delete_flow(ufid)
        except DatapathError:
            self.counters.inc("flow_delete_missing")

    # ------------------------------------------------------------------ timers

    async def _timers(self) -> None:
        next_members = next_bind = 0.0
        while True:
            await asyncio.sleep(self.cfg.expiry_interval)
            now = self.clock()
            try:
                await self.expire(now)
                if now >= next_members:
                    next_members = now + self.cfg.member_interval
                    await self.refresh_members()
                if self._bind_pending and now >= next_bind:
                    next_bind = now + self.cfg.bind_retry
                    await self.sync_bindings()
            except Exception:
                self.counters.inc("timer_errors")
                log.exception("packet path timer failed")

    async def expire(self, now: float) -> int:
        """Delete flows whose hard timeout passed; held packets whose bound passed go back
        through the worker. Returns how many flows went."""
        ufids = self.tracker.expired(now)
        for ufid in ufids:
            await self._delete(ufid)
        self.counters.inc("flows_expired", len(ufids))
        self._requeue(self.arp.expire(now))
        return len(ufids)

    async def refresh_members(self) -> None:
        """Re-read the peers' underlay addresses; flows towards changed hosts go."""
        new = self.src.underlay()
        if new != self._underlay:
            old = self._underlay
            changed = {h for h in new.keys() | old.keys() if new.get(h) != old.get(h)}
            self._underlay = new
            self._local = None
            await self.invalidate({("host", h) for h in changed})
            if self.host_id in changed:
                await self.sync_bindings(force_tunnel_flows=True)

    # ------------------------------------------------------------------ bindings

    def local_view(self) -> LocalView:
        """What translation needs of this host right now (cached until bindings or peers
        change)."""
        if self._local is None:
            self._local = LocalView(
                host_id=self.host_id,
                port_numbers=self.table.port_numbers(),
                underlay=self._underlay,
                tunnel_port=self.tunnel_no,
                tunnel_src=0,
            )
        return self._local

    async def sync_bindings(self, force_tunnel_flows: bool = False) -> None:
        """Attach the interfaces of exterior ports bound to this host; detach the others;
        keep one tunnel-in flow per (bound port, ethertype)."""
        want = wanted(self._topo or self.src.topology(), self.host_id)
        for stale in self.table.stale(want):
            await self._unbind(stale)
        pending = False
        for pid, w in want.items():
            bound = self.table.get(pid)
            if bound is None:
                if self.table.interface_taken(w.interface):
                    self.counters.inc("bind_conflicts")
                    continue
                try:
                    info = await self.dp.add_netdev_port(w.interface)
                except DatapathError as exc:
                    pending = True
                    self.counters.inc("bind_failures")
                    log.warning("cannot bind %s to %s yet: %s", pid, w.interface, exc)
                    continue
                bound = self.table.add(pid, w.interface, info.port_no)
                self._local = None
                self.counters.inc("ports_bound")
                log.info("bound port %s to %s (datapath port %d)", pid, w.interface, info.port_no)
            if force_tunnel_flows or bound.tunnel_key != w.tunnel_key:
                await self._tunnel_flows(bound, w.tunnel_key)
        self._bind_pending = pending

    async def _unbind(self, bound: Binding) -> None:
        for ufid in bound.tunnel_flows:
            await self._delete(ufid)
        self.table.remove(bound)
        self._local = None
        with contextlib.suppress(DatapathError):
            await self.dp.remove_port(bound.port_no)
        self.counters.inc("ports_unbound")
        await self.invalidate({("port", bound.port_id), ("binding", bound.port_id)})

    async def _tunnel_flows(self, bound: Binding, tkey: int) -> None:
        """Egress: tunnel id = the port's tunnel key -> output to the port (no simulation)."""
        for ufid in bound.tunnel_flows:
            await self._delete(ufid)
        self.table.retunnel(bound.port_id, tkey, register=self.tunnel_no is not None)
        if not tkey or self.tunnel_no is None:
            return
        local_ip = self._underlay.get(self.host_id, 0)
        for eth_type in (ETH_TYPE_IPV4, ETH_TYPE_ARP):
            key, mask, actions = tunnel_flow(
                self.tunnel_no, tkey, local_ip, bound.port_no, eth_type
            )
            try:
                ufid = await self.dp.install_flow(key, mask, actions, replace=True)
            except DatapathError as exc:
                self.counters.inc("install_failures")
                log.warning("tunnel flow for %s not installed: %s", bound.port_id, exc)
                continue
            self.table.add_tunnel_flow(bound.port_id, ufid)

    # ------------------------------------------------------------------ upcalls

    async def _reader(self) -> None:
        async for upcall in self.dp.upcalls():
            self.counters.inc("upcalls")
            try:
                self._queue.put_nowait(upcall)
            except asyncio.QueueFull:
                self.counters.inc("upcalls_dropped")

    async def _worker(self) -> None:
        n = 0
        while True:
            item = await self._queue.get()
            if isinstance(item, Waiting):
                await self.handle_safely(item.item, item.holds)
            else:
                await self.handle_safely(item)
            n += 1
            if n % self.cfg.yield_every == 0:
                await asyncio.sleep(0)

    async def handle_safely(self, upcall: Upcall, holds: int = 0) -> None:
        """handle() with per-upcall error handling: a failure is counted and logged."""
        start = self.clock()
        try:
            await self.handle(upcall, holds)
        except Exception as exc:
            self.counters.inc("upcall_errors")
            now = self.clock()
            if now - self._last_error_log > 1.0:
                self._last_error_log = now
                log.error("upcall failed: %r (key %s)", exc, upcall.key, exc_info=True)
        took = self.clock() - start
        self.latencies.append(took)
        if took > SLOW_SIMULATION:
            self.counters.inc("slow_upcalls")

    async def handle(self, upcall: Upcall, holds: int = 0) -> None:
        """The packet path for one upcall (`holds`: times it already waited on ARP)."""
        key = upcall.key
        if self.tunnel_no is not None and key.in_port == self.tunnel_no:
            await self._from_tunnel(upcall)
            return
        port_id = self.table.port_at(key.in_port)
        if port_id is None:
            self.counters.inc("unbound_in_port")
            return
        topo = self._topo
        if topo is None or self.changes.topology_dirty:
            topo = self.src.topology()
        gen = self.races.generation
        state = WithAttempts(self.src.state(), self.arp)
        result = simulate(topo, state, port_id, packet_of(key))
        self.counters.inc("simulations")
        await self._after_simulation(result, topo, upcall, gen, holds)

    async def _after_simulation(
        self, result: SimulationResult, topo: Topology, upcall: Upcall, gen: int, holds: int
    ) -> None:
        if result.learned:
            self.learn(result.learned)
        generated = result.generated
        w = result.arp_wait
        if w is not None and self.arp.needs_arp((w.router_id, w.ip), upcall, holds, self.clock()):
            # an ARP request for this next hop is outstanding: wait with it, no new one
            generated = tuple(g for g in generated if not _is_arp_request(g, w.port_id))
        for out in generated:
            await self._send_generated(topo, out.port_id, out.packet, upcall.packet)
        try:
            plan = translate(result, upcall.key, self.local_view())
        except TranslationError as exc:
            self.counters.inc("translate_errors")
            log.warning("cannot translate: %s", exc)
            return
        if plan is None:
            return
        if plan.error is not None:
            self.counters.inc("error_drops")
        await self.install(plan, result.decision, gen)
        if plan.actions:
            await self.dp.execute(upcall.packet, plan.actions, in_port=upcall.key.in_port)
            self.counters.inc("executed")

    def learn(self, learned: Sequence[StateUpdate]) -> None:
        """Write what a simulation learned (only what is new) to the mesh; packets waiting
        on a now-learned ARP entry go back through the worker at once (the table's
        subscription may fire later)."""
        state = self.src.state()
        fresh: list[StateUpdate] = []
        for u in learned:
            if isinstance(u, MacLearned):
                if state.mac_port(u.bridge_id, u.vlan, u.mac) == u.port_id:
                    continue
                self.counters.inc("macs_learned")
            elif isinstance(u, ArpLearned):
                if state.arp_mac(u.router_id, u.ip) == u.mac:
                    continue
                self.counters.inc("arps_learned")
            fresh.append(u)
        if fresh:
            self.src.commit(fresh)
            for u in fresh:
                if isinstance(u, ArpLearned):
                    self._requeue(self.arp.resolved((u.router_id, u.ip)))

    async def _send_generated(
        self, topo: Topology, port_id: str, packet: Packet, original: bytes
    ) -> None:
        """Put a packet the simulation generated on the wire (ARP reply, ICMP...)."""
        result = emit(topo, WithAttempts(self.src.state(), self.arp), port_id, packet)
        if result.learned:
            self.learn(result.learned)
        if result.decision is not Decision.FORWARD:
            self.counters.inc("generated_dropped")
            return
        plan = translate(result, key_of(packet, 0xFFFFFFFF), self.local_view())
        if plan is None or not plan.actions:
            self.counters.inc("generated_dropped")
            return
        await self.dp.execute(frame_for(packet, original), plan.actions)
        self.counters.inc("generated_sent")

    async def install(self, plan: FlowPlan, decision: Decision, gen: int) -> bytes | None:
        """Install a planned flow and track it; a flow whose tags were invalidated while it
        was being computed (since generation `gen`) is deleted again at once."""
        now = self.clock()
        try:
            ufid = await self.dp.install_flow(plan.key, plan.mask, plan.actions)
        except DatapathError as exc:
            if exc.errno == errno.EEXIST:
                self.counters.inc("flows_existing")
            else:
                self.counters.inc("install_failures")
                log.warning("flow not installed: %s", exc)
            return None
        flow = TrackedFlow(ufid, plan.tags, now, now + plan.hard_timeout, (decision, plan.error))
        for victim in self.tracker.add(flow):
            await self._delete(victim)
            self.counters.inc("flows_evicted")
        self.counters.inc("flows_installed")
        if self.races.raced(gen, plan.tags):
            self.tracker.remove(ufid)
            await self._delete(ufid)
            self.counters.inc("flows_raced")
            return None
        return ufid

    async def _from_tunnel(self, upcall: Upcall) -> None:
        """A tunnel packet no flow matched: deliver by tunnel key (no simulation)."""
        tun = upcall.key.tunnel
        bound = self.table.port_with_key(tun.tun_id) if tun is not None else None
        if bound is None:
            self.counters.inc("tunnel_unknown_key")
            return
        self.counters.inc("tunnel_misses")
        await self.dp.execute(upcall.packet, [Output(bound.port_no)])

    # ------------------------------------------------------------------ introspection

    async def flows_json(self) -> list[FlowJson]:
        """Installed flows with counters, for GET /v1/flows."""
        now = self.clock()
        tunnel = self.table.tunnel_flow_owners()
        return [
            flow_json(f, self.tracker.get(f.ufid), tunnel.get(f.ufid), now)
            for f in await self.dp.dump_flows()
        ]

    def status_json(self) -> dict[str, object]:
        """Bindings, counters and latency percentiles, for GET /v1/agent."""
        return {
            "host_id": self.host_id,
            "datapath": type(self.dp).__name__,
            "tunnel_port": self.tunnel_no,
            "underlay": underlay_json(self._underlay),
            "bindings": bindings_json(self.table),
            "flows": len(self.tracker),
            "queue": self._queue.qsize(),
            "arp_waiting": len(self.arp),
            "counters": counters_json(self.counters.as_dict()),
            "upcall_latency_us": latency_json(self.latencies),
        }


def _is_arp_request(out: Emit, port_id: str) -> bool:
    """A generated ARP request out of `port_id` (the one a needs-ARP result carries)."""
    pkt = out.packet
    return out.port_id == port_id and pkt.ethertype == ETH_TYPE_ARP and pkt.arp_op == 1
