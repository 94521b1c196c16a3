"""The agent's packet path (asyncio shell): upcall -> simulate -> translate -> install -> execute.

One reader task moves upcalls from the datapath into a bounded queue (full: counted and
dropped, never blocking the datapath); one worker handles them one at a time with its own
error handling, so a failing simulation costs only its own packet. A change task turns
topology and learned-state changes into invalidation tags and deletes the flows carrying
them; a timer task deletes flows whose hard timeout passed. All decisions are in pure code:
simulation, ``translate`` and ``FlowTracker``.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import errno
import logging
import time
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from datapath.api import Datapath, DatapathError, PortType, Upcall
from datapath.flow.actions import Action, Output, SetMasked
from datapath.flow.addr import ip4_str, mac_str
from datapath.flow.key import ETH_TYPE_ARP, ETH_TYPE_IPV4, FlowKey
from services.agent.arp_wait import ArpWaitQueue, Held
from services.agent.flowtrack import FlowTracker, TrackedFlow
from services.agent.frames import frame_for
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
from services.simulation.invalidation import arp_entry_tags, mac_entry_tags, topology_tags
from services.simulation.result import (
    ArpLearned,
    Decision,
    Emit,
    MacLearned,
    SimulationResult,
    StateUpdate,
    Tag,
)
from services.simulation.router import MAX_ARP_ATTEMPTS
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


class _AgentState:
    """The simulation's StateView: learned tables plus this agent's ARP attempt counts."""

    def __init__(self, base: StateView, attempts: Mapping[tuple[str, int], tuple[int, float]]):
        self._base = base
        self._attempts = attempts

    def mac_port(self, bridge_id: str, vlan: int, mac: int) -> str | None:
        return self._base.mac_port(bridge_id, vlan, mac)

    def arp_mac(self, router_id: str, ip: int) -> int | None:
        return self._base.arp_mac(router_id, ip)

    def arp_attempts(self, router_id: str, ip: int) -> int:
        entry = self._attempts.get((router_id, ip))
        return 0 if entry is None else entry[0]


@dataclass(frozen=True, slots=True)
class _Released:
    """A held upcall going back through the worker; `holds`: how often it was held."""

    upcall: Upcall
    holds: int


@dataclass
class _Binding:
    port_id: str
    interface: str
    port_no: int
    tunnel_key: int = 0
    tunnel_flows: list[bytes] = field(default_factory=list)


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
        self.counters: collections.Counter[str] = collections.Counter()
        self.tracker = FlowTracker(self.cfg.max_flows)
        self.bindings: dict[str, _Binding] = {}  # port id -> binding
        self.by_port_no: dict[int, str] = {}
        self.by_tunnel_key: dict[int, str] = {}
        self.tunnel_no: int | None = None
        self.latencies: collections.deque[float] = collections.deque(maxlen=4096)
        self._queue: asyncio.Queue[Upcall | _Released] = asyncio.Queue(self.cfg.queue_size)
        self.arp_wait: ArpWaitQueue[tuple[str, int], _Released] = ArpWaitQueue(
            self.cfg.arp_hold_per_hop, self.cfg.arp_hold_total, self.cfg.arp_hold
        )
        self._attempts: dict[tuple[str, int], tuple[int, float]] = {}
        self._topo: Topology | None = None
        self._underlay: dict[str, int] = {}
        self._dirty_topology = False
        self._dirty_tags: set[Tag] = set()
        self._changed = asyncio.Event()
        self._gen = 0
        self._invalidated: collections.deque[tuple[int, frozenset[Tag]]] = collections.deque(
            maxlen=256
        )
        self._tasks: list[asyncio.Task[None]] = []
        self._bind_pending = False
        self._last_error_log = 0.0
        self._local: LocalView | None = None

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Create the tunnel port, bind local ports, start the tasks."""
        info = await self.dp.add_tunnel_port(
            self.cfg.tunnel_port_name, PortType.VXLAN, self.cfg.vxlan_port
        )
        self.tunnel_no = info.port_no
        self._underlay = self.src.underlay()
        self._local = None
        self._topo = self.src.topology()
        await self.sync_bindings()
        loop = asyncio.get_running_loop()
        for coro in (self._reader(), self._worker(), self._changes(), self._timers()):
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
        self._dirty_topology = True
        self._changed.set()

    def macs_changed(self, keys: frozenset[Hashable]) -> None:
        """Learned MAC entries changed: flows that depended on them go."""
        for key in keys:
            if isinstance(key, tuple) and len(key) == 3:
                self._dirty_tags |= mac_entry_tags(key[0], key[2])
        self._changed.set()

    def arps_changed(self, keys: frozenset[Hashable]) -> None:
        """Learned ARP entries changed: flows that depended on them go."""
        for key in keys:
            if isinstance(key, tuple) and len(key) == 2:
                self._dirty_tags |= arp_entry_tags(key[0], key[1])
                self._attempts.pop((key[0], key[1]), None)
                self._release(self.arp_wait.resolved((key[0], key[1])), "arp_wait_resolved")
        self._changed.set()

    def _release(self, items: list[_Released], counter: str) -> None:
        """Send held upcalls back through the worker (re-simulated, installed, executed)."""
        for item in items:
            self.counters[counter] += 1
            try:
                self._queue.put_nowait(item)
            except asyncio.QueueFull:
                self.counters["arp_wait_requeue_dropped"] += 1

    async def _changes(self) -> None:
        while True:
            await self._changed.wait()
            self._changed.clear()
            try:
                await self.process_changes()
            except Exception:
                self.counters["change_errors"] += 1
                log.exception("processing a table change failed")

    async def process_changes(self) -> None:
        """Turn pending change marks into invalidations and binding updates."""
        tags, self._dirty_tags = self._dirty_tags, set()
        rebind = False
        if self._dirty_topology:
            self._dirty_topology = False
            new = self.src.topology()
            if self._topo is not None:
                tags |= topology_tags(self._topo, new)
            self._topo = new
            rebind = True
        if tags:
            await self.invalidate(tags)
        if rebind:
            await self.sync_bindings()

    async def invalidate(self, tags: Iterable[Tag]) -> int:
        """Delete every flow carrying one of `tags`; returns how many."""
        tags = frozenset(tags)
        self._gen += 1
        self._invalidated.append((self._gen, tags))
        ufids = self.tracker.invalidate(tags)
        for ufid in ufids:
            await self._delete(ufid)
        self.counters["flows_invalidated"] += len(ufids)
        return len(ufids)

    async def _delete(self, ufid: bytes) -> None:
        try:
            await self.dp.delete_flow(ufid)
        except DatapathError:
            self.counters["flow_delete_missing"] += 1

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
                self.counters["timer_errors"] += 1
                log.exception("packet path timer failed")

    async def expire(self, now: float) -> int:
        """Delete flows whose hard timeout passed; forget old ARP attempts."""
        ufids = self.tracker.expired(now)
        for ufid in ufids:
            await self._delete(ufid)
        self.counters["flows_expired"] += len(ufids)
        self._expire_held(now)
        for k, (_n, first) in list(self._attempts.items()):
            if now - first > self.cfg.arp_forget:
                del self._attempts[k]
        return len(ufids)

    async def refresh_members(self) -> None:
        """Re-read the peers' underlay addresses; flows towards changed hosts go."""
        new = self.src.underlay()
        if new != self._underlay:
            changed = {
                h for h in new.keys() | self._underlay.keys() if new.get(h) != self._underlay.get(h)
            }
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
            self._local = self._make_local_view()
        return self._local

    def _make_local_view(self) -> LocalView:
        return LocalView(
            host_id=self.host_id,
            port_numbers={pid: b.port_no for pid, b in self.bindings.items()},
            underlay=self._underlay,
            tunnel_port=self.tunnel_no,
            tunnel_src=0,
        )

    async def sync_bindings(self, force_tunnel_flows: bool = False) -> None:
        """Attach the interfaces of exterior ports bound to this host; detach the others;
        keep one tunnel-in flow per (bound port, ethertype)."""
        topo = self._topo or self.src.topology()
        want: dict[str, tuple[str, int]] = {}
        for port in topo.ports.values():
            b = port.binding
            if b is not None and b.host_id == self.host_id and port.peer_id is None:
                want[port.id] = (b.interface, topo.tunnel_keys.get(port.id, 0))
        for pid, bound in list(self.bindings.items()):
            if pid not in want or want[pid][0] != bound.interface:
                await self._unbind(bound)
        pending = False
        for pid, (ifname, tkey) in want.items():
            bound_opt = self.bindings.get(pid)
            if bound_opt is None:
                if any(b.interface == ifname for b in self.bindings.values()):
                    self.counters["bind_conflicts"] += 1
                    continue
                try:
                    info = await self.dp.add_netdev_port(ifname)
                except DatapathError as exc:
                    pending = True
                    self.counters["bind_failures"] += 1
                    log.warning("cannot bind %s to %s yet: %s", pid, ifname, exc)
                    continue
                bound_opt = _Binding(pid, ifname, info.port_no)
                self.bindings[pid] = bound_opt
                self._local = None
                self.by_port_no[info.port_no] = pid
                self.counters["ports_bound"] += 1
                log.info("bound port %s to %s (datapath port %d)", pid, ifname, info.port_no)
            if force_tunnel_flows or bound_opt.tunnel_key != tkey:
                await self._tunnel_flows(bound_opt, tkey)
        self._bind_pending = pending

    async def _unbind(self, bound: _Binding) -> None:
        for ufid in bound.tunnel_flows:
            await self._delete(ufid)
        self.by_tunnel_key.pop(bound.tunnel_key, None)
        self.bindings.pop(bound.port_id, None)
        self.by_port_no.pop(bound.port_no, None)
        self._local = None
        with contextlib.suppress(DatapathError):
            await self.dp.remove_port(bound.port_no)
        self.counters["ports_unbound"] += 1
        await self.invalidate({("port", bound.port_id), ("binding", bound.port_id)})

    async def _tunnel_flows(self, bound: _Binding, tkey: int) -> None:
        """Egress: tunnel id = the port's tunnel key -> output to the port (no simulation)."""
        for ufid in bound.tunnel_flows:
            await self._delete(ufid)
        bound.tunnel_flows = []
        self.by_tunnel_key.pop(bound.tunnel_key, None)
        bound.tunnel_key = tkey
        if not tkey or self.tunnel_no is None:
            return
        self.by_tunnel_key[tkey] = bound.port_id
        local_ip = self._underlay.get(self.host_id, 0)
        for eth_type in (ETH_TYPE_IPV4, ETH_TYPE_ARP):
            key, mask, actions = tunnel_flow(
                self.tunnel_no, tkey, local_ip, bound.port_no, eth_type
            )
            try:
                ufid = await self.dp.install_flow(key, mask, actions, replace=True)
            except DatapathError as exc:
                self.counters["install_failures"] += 1
                log.warning("tunnel flow for %s not installed: %s", bound.port_id, exc)
                continue
            bound.tunnel_flows.append(ufid)

    # ------------------------------------------------------------------ upcalls

    async def _reader(self) -> None:
        async for upcall in self.dp.upcalls():
            self.counters["upcalls"] += 1
            try:
                self._queue.put_nowait(upcall)
            except asyncio.QueueFull:
                self.counters["upcalls_dropped"] += 1

    async def _worker(self) -> None:
        n = 0
        while True:
            item = await self._queue.get()
            if isinstance(item, _Released):
                await self.handle_safely(item.upcall, item.holds)
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
            self.counters["upcall_errors"] += 1
            now = self.clock()
            if now - self._last_error_log > 1.0:
                self._last_error_log = now
                log.error("upcall failed: %r (key %s)", exc, upcall.key, exc_info=True)
        took = self.clock() - start
        self.latencies.append(took)
        if took > SLOW_SIMULATION:
            self.counters["slow_upcalls"] += 1

    async def handle(self, upcall: Upcall, holds: int = 0) -> None:
        """The packet path for one upcall (`holds`: times it already waited on ARP)."""
        key = upcall.key
        if self.tunnel_no is not None and key.in_port == self.tunnel_no:
            await self._from_tunnel(upcall)
            return
        port_id = self.by_port_no.get(key.in_port)
        if port_id is None:
            self.counters["unbound_in_port"] += 1
            return
        topo = self._topo if self._topo is not None and not self._dirty_topology else None
        if topo is None:
            topo = self.src.topology()
        gen = self._gen
        state = _AgentState(self.src.state(), self._attempts)
        result = simulate(topo, state, port_id, packet_of(key))
        self.counters["simulations"] += 1
        await self._after_simulation(result, topo, upcall, gen, holds)

    async def _after_simulation(
        self, result: SimulationResult, topo: Topology, upcall: Upcall, gen: int, holds: int = 0
    ) -> None:
        if result.learned:
            self._commit(result.learned)
        generated = result.generated
        if result.arp_wait is not None:
            w = result.arp_wait
            now = self.clock()
            if holds == 0 and self.arp_wait.waiting((w.router_id, w.ip)):
                # an ARP request for this next hop is outstanding: wait with it, no new one
                self.counters["arp_wait_coalesced"] += 1
                generated = tuple(g for g in generated if not _is_arp_request(g, w.port_id))
            else:
                n, first = self._attempts.get((w.router_id, w.ip), (0, now))
                self._attempts[(w.router_id, w.ip)] = (n + 1, first)
            self._hold(w.router_id, w.ip, upcall, holds, now)
        for gen_pkt in generated:
            await self._send_generated(topo, gen_pkt.port_id, gen_pkt.packet, upcall.packet)
        local = self.local_view()
        try:
            plan = translate(result, upcall.key, local)
        except TranslationError as exc:
            self.counters["translate_errors"] += 1
            log.warning("cannot translate: %s", exc)
            return
        if plan is None:
            return
        if plan.error is not None:
            self.counters["error_drops"] += 1
        await self.install(plan, result.decision, gen)
        if plan.actions:
            await self.dp.execute(upcall.packet, plan.actions, in_port=upcall.key.in_port)
            self.counters["executed"] += 1

    def _commit(self, learned: Sequence[StateUpdate]) -> None:
        state = self.src.state()
        fresh: list[StateUpdate] = []
        for u in learned:
            if isinstance(u, MacLearned):
                if state.mac_port(u.bridge_id, u.vlan, u.mac) == u.port_id:
                    continue
                self.counters["macs_learned"] += 1
            elif isinstance(u, ArpLearned):
                if state.arp_mac(u.router_id, u.ip) == u.mac:
                    continue
                self.counters["arps_learned"] += 1
            fresh.append(u)
        if fresh:
            self.src.commit(fresh)
            for u in fresh:  # in case the table's subscription has not fired (yet)
                if isinstance(u, ArpLearned):
                    items = self.arp_wait.resolved((u.router_id, u.ip))
                    self._release(items, "arp_wait_resolved")

    def _expire_held(self, now: float) -> None:
        """Held packets whose bound passed: per next hop the oldest is simulated again (one
        more ARP attempt, or host unreachable after the last); the others wait once more,
        so a burst of held packets costs one ARP attempt per bound, not one each."""
        again: dict[tuple[str, int], list[_Released]] = {}
        for key, item in self.arp_wait.expired(now):
            self.counters["arp_wait_expired"] += 1
            attempts = self._attempts.get(key, (0, now))[0]
            if key not in again or attempts >= MAX_ARP_ATTEMPTS:
                # the oldest retries; once attempts are used up all go (host unreachable)
                again.setdefault(key, [])
                self._release([item], "arp_wait_retried")
            elif item.holds >= self.cfg.arp_max_holds:
                self.counters["arp_wait_abandoned"] += 1
            else:
                again[key].append(_Released(item.upcall, item.holds + 1))
        for key, items in again.items():
            for item in reversed(items):  # each goes to the front: their order is kept
                self._hold_key(key, item, now)

    def _hold(self, router_id: str, ip: int, upcall: Upcall, holds: int, now: float) -> None:
        """Park a packet whose next hop is being ARPed (bounded in count and time)."""
        if holds >= self.cfg.arp_max_holds:
            self.counters["arp_wait_abandoned"] += 1
            return
        self._hold_key((router_id, ip), _Released(upcall, holds + 1), now)

    def _hold_key(self, key: tuple[str, int], item: _Released, now: float) -> None:
        held = self.arp_wait.hold(key, item, now, front=item.holds > 1)
        if held is Held.REFUSED:
            self.counters["arp_wait_overflow"] += 1
            return
        if held is Held.HELD_DROPPED_OLDEST:
            self.counters["arp_wait_overflow"] += 1
        self.counters["arp_wait_held"] += 1

    async def _send_generated(
        self, topo: Topology, port_id: str, packet: Any, original: bytes
    ) -> None:
        """Put a packet the simulation generated on the wire (ARP reply, ICMP...)."""
        state = _AgentState(self.src.state(), self._attempts)
        result = emit(topo, state, port_id, packet)
        if result.learned:
            self._commit(result.learned)
        if result.decision is not Decision.FORWARD:
            self.counters["generated_dropped"] += 1
            return
        plan = translate(result, key_of(packet, 0xFFFFFFFF), self.local_view())
        if plan is None or not plan.actions:
            self.counters["generated_dropped"] += 1
            return
        await self.dp.execute(frame_for(packet, original), plan.actions)
        self.counters["generated_sent"] += 1

    async def install(self, plan: FlowPlan, decision: Decision, gen: int) -> bytes | None:
        """Install a planned flow and track it; a flow whose tags were invalidated while it
        was being computed is deleted again at once."""
        now = self.clock()
        try:
            ufid = await self.dp.install_flow(plan.key, plan.mask, plan.actions)
        except DatapathError as exc:
            if exc.errno == errno.EEXIST:
                self.counters["flows_existing"] += 1
            else:
                self.counters["install_failures"] += 1
                log.warning("flow not installed: %s", exc)
            return None
        flow = TrackedFlow(ufid, plan.tags, now, now + plan.hard_timeout, (decision, plan.error))
        for victim in self.tracker.add(flow):
            await self._delete(victim)
            self.counters["flows_evicted"] += 1
        self.counters["flows_installed"] += 1
        if gen != self._gen and any(
            g > gen and not plan.tags.isdisjoint(tags) for g, tags in self._invalidated
        ):
            self.tracker.remove(ufid)
            await self._delete(ufid)
            self.counters["flows_raced"] += 1
            return None
        return ufid

    async def _from_tunnel(self, upcall: Upcall) -> None:
        """A tunnel packet no flow matched: deliver by tunnel key (no simulation)."""
        tun = upcall.key.tunnel
        port_id = self.by_tunnel_key.get(tun.tun_id) if tun is not None else None
        bound = self.bindings.get(port_id) if port_id is not None else None
        if bound is None:
            self.counters["tunnel_unknown_key"] += 1
            return
        self.counters["tunnel_misses"] += 1
        await self.dp.execute(upcall.packet, [Output(bound.port_no)])

    # ------------------------------------------------------------------ introspection

    async def flows_json(self) -> list[dict[str, Any]]:
        """Installed flows with counters, for GET /v1/flows."""
        now = self.clock()
        out: list[dict[str, Any]] = []
        tunnel_ufids = {u: b.port_id for b in self.bindings.values() for u in b.tunnel_flows}
        for f in await self.dp.dump_flows():
            tracked = self.tracker.get(f.ufid)
            item: dict[str, Any] = {
                "ufid": f.ufid.hex(),
                "match": _match_str(f.key, f.mask),
                "actions": _actions_str(f.actions),
                "packets": f.stats.packets,
                "bytes": f.stats.bytes,
            }
            if tracked is not None:
                item["expires_in"] = round(max(0.0, tracked.deadline - now), 1)
                item["tags"] = len(tracked.tags)
                item["summary"] = _summary(tracked.summary)
            elif f.ufid in tunnel_ufids:
                item["summary"] = f"tunnel egress to port {tunnel_ufids[f.ufid]}"
            out.append(item)
        return out

    def status_json(self) -> dict[str, Any]:
        """Bindings, counters and latency percentiles, for GET /v1/agent."""
        lat = sorted(self.latencies)

        def pct(p: float) -> float | None:
            return round(lat[min(len(lat) - 1, int(p * len(lat)))] * 1e6, 1) if lat else None

        return {
            "host_id": self.host_id,
            "datapath": type(self.dp).__name__,
            "tunnel_port": self.tunnel_no,
            "underlay": {h: ip4_str(ip) for h, ip in sorted(self._underlay.items())},
            "bindings": [
                {
                    "port_id": b.port_id,
                    "interface": b.interface,
                    "port_no": b.port_no,
                    "tunnel_key": b.tunnel_key,
                }
                for b in self.bindings.values()
            ],
            "flows": len(self.tracker),
            "queue": self._queue.qsize(),
            "arp_waiting": len(self.arp_wait),
            "counters": dict(sorted(self.counters.items())),
            "upcall_latency_us": {"p50": pct(0.5), "p99": pct(0.99)},
        }


def _is_arp_request(out: Emit, port_id: str) -> bool:
    """A generated ARP request out of `port_id` (the one a needs-ARP result carries)."""
    pkt = out.packet
    return out.port_id == port_id and pkt.ethertype == ETH_TYPE_ARP and pkt.arp_op == 1


def _summary(info: object) -> str:
    if isinstance(info, tuple) and len(info) == 2 and isinstance(info[0], Decision):
        return info[0].value + (f" ({info[1]})" if info[1] else "")
    return str(info)


def _actions_str(actions: Sequence[Action]) -> str:
    if not actions:
        return "drop"
    parts = []
    for a in actions:
        name = type(a).__name__
        if isinstance(a, Output):
            parts.append(f"output({a.port})")
        elif hasattr(a, "tunnel"):
            t = a.tunnel
            parts.append(f"set(tunnel(id={t.tun_id},dst={ip4_str(t.ipv4_dst)},ttl={t.ttl}))")
        elif isinstance(a, SetMasked):
            h, m = a.header, a.mask
            hname = _HEADER_NAMES.get(type(h).__name__, "hdr")
            fields = ",".join(
                f"{n}={_field_str(hname, n, getattr(h, n))}"
                for n in type(h).__dataclass_fields__
                if getattr(m, n)
            )
            parts.append(f"set({hname}({fields}))")
        elif hasattr(a, "header"):
            parts.append(f"set({a.header})")
        else:
            parts.append(name.lower())
    return ",".join(parts)


_HEADER_NAMES = {"EthernetKey": "eth", "Ipv4Key": "ipv4", "TcpKey": "tcp", "UdpKey": "udp"}


def _field_str(header: str, name: str, value: int) -> str:
    if header == "eth":
        return mac_str(value)
    if header == "ipv4" and name in ("src", "dst"):
        return ip4_str(value)
    return str(value)


def _match_str(key: FlowKey, mask: Any) -> str:
    """The matched fields only (wildcarded fields left out), like ovs-dpctl's megaflows."""
    parts = [f"in_port({key.in_port})"]
    for name in FlowKey.HEADERS:
        value, m = getattr(key, name), getattr(mask, name, None)
        if value is None or m is None:
            continue
        fields = []
        for fname in type(value).__dataclass_fields__:
            mv = getattr(m, fname)
            if not mv:
                continue
            v = getattr(value, fname)
            if fname in ("src", "dst", "sha", "tha") and name in ("eth", "arp"):
                text = mac_str(v)
            elif fname in ("src", "dst", "sip", "tip", "ipv4_dst", "ipv4_src") and name in (
                "ipv4",
                "arp",
                "tunnel",
            ):
                text = ip4_str(v)
            else:
                text = str(v)
            fields.append(f"{fname}={text}")
        if name == "vlan" or fields:
            parts.append(f"{name}({','.join(fields)})")
        if name == "vlan":
            parts.append(f"eth_type({key.eth_type:#06x})")
    if key.vlan is None:
        parts.insert(2 if key.eth is not None else 1, f"eth_type({key.eth_type:#06x})")
    return ",".join(parts)
