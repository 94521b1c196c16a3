"""Carries out a schedule: partitions and loss with nftables in the host namespaces, SIGKILL
(at random moments and right after an acknowledged write) and restart with the same data dir,
SIGSTOP/SIGCONT, wall-clock skew (libfaketime, applied by restarting the agent), ZooKeeper
leader kills and restart storms; then the final heal. Every action is a nemesis op."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence

from chaos.cluster import Cluster
from chaos.history import HEAL, START, STOP, Json
from chaos.nemesis import nft
from chaos.recorder import Recorder
from chaos.schedule import Fault, Schedule
from chaos.workloads.context import Context

log = logging.getLogger("chaos.nemesis")

ACK_WAIT = 5.0
"""Seconds the after-ack kill waits for its host to acknowledge a write before killing anyway."""


def groups(hosts: Sequence[str], cuts: Sequence[tuple[str, str]]) -> list[list[str]]:
    """What each host can still reach (itself included), without duplicates."""
    blocked = {frozenset(c) for c in cuts}
    seen: list[list[str]] = []
    for h in hosts:
        g = [o for o in hosts if o == h or frozenset((h, o)) not in blocked]
        if g not in seen:
            seen.append(g)
    return seen


def history_name(fault: Fault) -> str:
    """The fault name in the history vocabulary (docs/chaos.md)."""
    return {
        "kill-ack": "kill",
        "zookeeper": "zk-kill",
        "storm": "restart-storm",
    }.get(fault.kind, fault.kind)


class Nemesis:
    def __init__(
        self,
        cluster: Cluster,
        recorder: Recorder,
        schedule: Schedule,
        ctx: Context,
        offset: float = 0.0,
        on_heal: Callable[[bool], None] | None = None,
    ) -> None:
        self.cluster = cluster
        self.recorder = recorder
        self.schedule = schedule
        self.ctx = ctx
        self.on_heal = on_heal
        self.offset = offset
        """History time at which the schedule's time 0 falls (after the setup)."""
        self.kill_delays: list[float] = []
        """Seconds from an acknowledgement to the SIGKILL of the agent that gave it."""
        self._zk_killed: list[int] = []
        self._down: set[str] = set()

    async def run(self) -> None:
        """Every fault at its time, then the final heal at `heal_at`."""
        for fault in self.schedule.faults:
            await self._until(fault.start)
            value = await self.start(fault)
            self.recorder.nemesis(START + history_name(fault), value)
            if fault.kind == "storm":
                await self._storm(fault)
            await self._until(fault.end)
            await self.stop(fault)
            self.recorder.nemesis(STOP + history_name(fault), value)
            if self.on_heal is not None:
                self.on_heal(False)
        await self._until(self.schedule.heal_at)
        await self.heal()
        self.recorder.nemesis(HEAL, {"final": True})
        if self.on_heal is not None:
            self.on_heal(True)

    async def _until(self, t: float) -> None:
        delay = self.offset + t - self.recorder.now()
        if delay > 0:
            await asyncio.sleep(delay)

    # -- faults ----------------------------------------------------------------------

    async def start(self, fault: Fault) -> Json:
        c = self.cluster
        if fault.kind == "partition":
            hosts = list(c.agents)
            for h in hosts:
                peers = [c.address(o) for a, b in fault.cuts for o in (a, b) if h in (a, b)]
                peers = sorted({p for p in peers if p != c.address(h)})
                await nft.apply(c.agents[h].host.ns, nft.ruleset(peers))
            return {
                "kind": fault.shape,
                "groups": groups(hosts, fault.cuts),
                "blocked": [list(p) for p in fault.cuts],
            }
        if fault.kind == "loss":
            for h in fault.hosts:
                await nft.apply(c.agents[h].host.ns, nft.ruleset((), fault.percent))
            return {"hosts": list(fault.hosts), "probability": fault.percent / 100}
        if fault.kind == "kill":
            for h in fault.hosts:
                await asyncio.to_thread(c.kill_agent, h)
                self._down.add(h)
            return {"hosts": list(fault.hosts), "kind": "random"}
        if fault.kind == "kill-ack":
            return await self._kill_after_ack(fault.hosts[0])
        if fault.kind == "pause":
            for h in fault.hosts:
                c.pause_agent(h)
            return {"hosts": list(fault.hosts)}
        if fault.kind == "clock":
            for h in fault.hosts:
                await self._restart(h, fault.skew)
            return {"hosts": list(fault.hosts), "offset": fault.skew}
        if fault.kind == "storm":
            return {"hosts": list(fault.hosts)}
        if fault.kind == "zookeeper":
            zk = c.zk
            if zk is None:
                return {"server": None, "leader": False, "error": "no ZooKeeper"}
            leader = await asyncio.to_thread(zk.leader)
            if leader is None:
                return {"server": None, "leader": False, "error": "no leader found"}
            await asyncio.to_thread(zk.kill, leader)
            self._zk_killed.append(leader.sid)
            return {"server": leader.sid, "leader": True}
        raise ValueError(f"unknown fault kind {fault.kind!r}")

    async def _restart(self, host: str, skew: float) -> None:
        """Restart an agent (graceful stop, start with `skew` s of wall clock offset): meshd
        reads the wall clock once at start. Logged as a kill window of kind `restart`, so
        the agent's absence is not taken for a false dead declaration."""
        value: Json = {"hosts": [host], "kind": "restart"}
        self.recorder.nemesis(START + "kill", value)
        await asyncio.to_thread(self.cluster.stop_agent, host)
        await asyncio.to_thread(self.cluster.start_agent, host, skew)
        self.recorder.nemesis(STOP + "kill", value)

    async def _kill_after_ack(self, host: str) -> Json:
        """SIGKILL `host` within a few ms of its next acknowledged write."""
        loop = asyncio.get_running_loop()
        fired: asyncio.Future[float] = loop.create_future()

        def on_ack(acked_by: str, when: float) -> None:
            if acked_by == host and not fired.done():
                # kill from inside the ack callback: no await between the 200 and the signal
                self.cluster.signal_agent(host, 9)
                fired.set_result(time.monotonic() - when)

        self.ctx.ack_listeners.append(on_ack)
        try:
            delay: float | None = await asyncio.wait_for(fired, ACK_WAIT)
        except TimeoutError:
            delay = None
        finally:
            self.ctx.ack_listeners.remove(on_ack)
        await asyncio.to_thread(self.cluster.kill_agent, host)  # reap (or kill if no ack)
        self._down.add(host)
        value: dict[str, Json] = {"hosts": [host], "kind": "after-ack"}
        if delay is not None:
            self.kill_delays.append(delay)
            value["after_ack_ms"] = round(delay * 1000, 3)
        else:
            value["after_ack_ms"] = None
        return value

    async def _storm(self, fault: Fault) -> None:
        """SIGKILL and at once restart the storm's hosts at their offsets."""
        for offset, host in fault.restarts:
            await self._until(fault.start + offset)
            await asyncio.to_thread(self.cluster.kill_agent, host)
            await asyncio.sleep(0.2)
            await asyncio.to_thread(self.cluster.start_agent, host)

    async def stop(self, fault: Fault) -> None:
        c = self.cluster
        if fault.kind in ("partition", "loss"):
            for h in c.agents:
                await nft.apply(c.agents[h].host.ns, nft.clear())
        elif fault.kind in ("kill", "kill-ack", "storm"):
            for h in fault.hosts:
                await asyncio.to_thread(c.start_agent, h)
                self._down.discard(h)
        elif fault.kind == "pause":
            for h in fault.hosts:
                c.resume_agent(h)
        elif fault.kind == "clock":
            for h in fault.hosts:
                await self._restart(h, 0.0)
        elif fault.kind == "zookeeper" and c.zk is not None:
            for n in c.zk.nodes:
                if not n.running:
                    await asyncio.to_thread(c.zk.start_node, n)

    async def heal(self) -> None:
        """Remove every fault: rules, pauses, dead or skewed agents, dead ZooKeeper servers."""
        c = self.cluster
        for name, agent in c.agents.items():
            await nft.apply(agent.host.ns, nft.clear())
            if agent.paused:
                c.resume_agent(name)
            if agent.skew:
                await asyncio.to_thread(c.stop_agent, name)
            if not agent.running:
                await asyncio.to_thread(c.start_agent, name)
        if c.zk is not None:
            for n in c.zk.nodes:
                if not n.running:
                    await asyncio.to_thread(c.zk.start_node, n)
