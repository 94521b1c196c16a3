"""The packet path shell over a recording fake datapath: failures stay per upcall, the queue
is bounded, learned state is committed, tags and timeouts delete flows."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence

from datapath.api import (
    Datapath,
    DatapathError,
    DatapathStats,
    Flow,
    FlowStats,
    PortEvent,
    PortInfo,
    PortType,
    Upcall,
    UpcallKind,
    new_ufid,
)
from datapath.flow.actions import Action, Output, SetTunnel
from datapath.flow.key import FlowKey, TunnelKey
from datapath.flow.mask import FlowMask
from services.agent.packet_path import PacketPath, PathConfig
from services.agent.translate import key_of
from services.simulation import DictStateView
from services.simulation.packet import PROTO_UDP, Packet
from services.simulation.result import ArpLearned, MacLearned, StateUpdate
from services.simulation.state import StateView
from services.topology.addr import parse_ip
from services.topology.builder import TopologyBuilder
from services.topology.snapshot import Topology


class FakeDatapath(Datapath):
    """Records installs, deletes and executes; ports are just numbers."""

    def __init__(self) -> None:
        self.name = "fake"
        self.ports: dict[int, PortInfo] = {}
        self.flows: dict[bytes, tuple[FlowKey, FlowMask | None, tuple[Action, ...]]] = {}
        self.executed: list[tuple[bytes, tuple[Action, ...]]] = []
        self.queue: asyncio.Queue[Upcall] = asyncio.Queue()

    async def _add(self, name: str, type_: PortType) -> PortInfo:
        info = PortInfo(len(self.ports) + 1, name, type_)
        self.ports[info.port_no] = info
        return info

    async def add_netdev_port(self, ifname: str) -> PortInfo:
        if ifname == "missing":
            raise DatapathError("no such device", 19)
        return await self._add(ifname, PortType.NETDEV)

    async def add_internal_port(self, name: str) -> PortInfo:
        return await self._add(name, PortType.INTERNAL)

    async def add_tunnel_port(
        self, name: str, type: PortType = PortType.VXLAN, dst_port: int = 4789
    ) -> PortInfo:
        return await self._add(name, type)

    async def list_ports(self) -> list[PortInfo]:
        return list(self.ports.values())

    async def remove_port(self, port_no: int) -> None:
        del self.ports[port_no]

    def port_events(self) -> AsyncIterator[PortEvent]:
        raise NotImplementedError

    async def install_flow(
        self,
        key: FlowKey,
        mask: FlowMask | None,
        actions: Sequence[Action],
        ufid: bytes | None = None,
        replace: bool = False,
    ) -> bytes:
        ufid = ufid or new_ufid()
        self.flows[ufid] = (key, mask, tuple(actions))
        return ufid

    async def delete_flow(self, ufid: bytes) -> FlowStats:
        if self.flows.pop(ufid, None) is None:
            raise DatapathError("no flow", 2)
        return FlowStats()

    async def dump_flows(self) -> list[Flow]:
        return [Flow(u, k, m or FlowMask.exact(k), a) for u, (k, m, a) in self.flows.items()]

    async def flush_flows(self) -> None:
        self.flows.clear()

    async def execute(
        self,
        packet: bytes,
        actions: Sequence[Action],
        in_port: int = 0xFFFFFFFF,
        tunnel: TunnelKey | None = None,
        skb_mark: int = 0,
    ) -> None:
        self.executed.append((packet, tuple(actions)))

    async def _stream(self) -> AsyncIterator[Upcall]:
        while True:
            yield await self.queue.get()

    def upcalls(self) -> AsyncIterator[Upcall]:
        return self._stream()

    async def stats(self) -> DatapathStats:
        return DatapathStats(flows=len(self.flows))

    async def close(self) -> None:
        pass


class Sources:
    def __init__(self, topo: Topology) -> None:
        self.topo = topo
        self.view = DictStateView()
        self.committed: list[StateUpdate] = []
        self.fail = False

    def topology(self) -> Topology:
        if self.fail:
            raise RuntimeError("boom")
        return self.topo

    def state(self) -> StateView:
        return self.view

    def underlay(self) -> dict[str, int]:
        return {"h1": parse_ip("192.0.2.1"), "h2": parse_ip("192.0.2.2")}

    def commit(self, updates: Sequence[StateUpdate]) -> None:
        self.committed += updates
        self.view = self.view.apply(updates)


def _topo() -> tuple[TopologyBuilder, dict[str, str]]:
    b = TopologyBuilder("pp")
    ids = {"br": b.bridge("A")}
    ids["p1"] = b.port(
        ids["br"], binding={"host_id": "h1", "interface": "t1"}, addresses=["10.0.0.1"]
    )
    ids["p2"] = b.vm_port(ids["br"], "h2", "10.0.0.2")
    ids["p3"] = b.port(
        ids["br"], binding={"host_id": "h1", "interface": "missing"}, addresses=["10.0.0.3"]
    )
    return b, ids


def _udp(topo: Topology, ids: dict[str, str], sport: int) -> Packet:
    return Packet(
        eth_src=0x02AA00000001,  # not the port's static MAC: the bridge learns it
        eth_dst=topo.ports[ids["p2"]].mac,
        ip_src=parse_ip("10.0.0.1"),
        ip_dst=parse_ip("10.0.0.2"),
        proto=PROTO_UDP,
        ttl=64,
        src_port=sport,
        dst_port=53,
    )


async def _path(
    cfg: PathConfig | None = None, worker: bool = True
) -> tuple[PacketPath, FakeDatapath, Sources, dict[str, str], TopologyBuilder]:
    b, ids = _topo()
    src = Sources(b.build())
    dp = FakeDatapath()
    path = PacketPath(dp, "h1", src, cfg or PathConfig(expiry_interval=3600))
    await path.start(worker=worker)
    return path, dp, src, ids, b


def _upcall(pkt: Packet, port_no: int) -> Upcall:
    return Upcall(UpcallKind.MISS, key_of(pkt, port_no), b"\x00" * 60)


async def test_binding_tunnel_flows_and_forwarding() -> None:
    path, dp, src, ids, _ = await _path()
    try:
        # p1 is bound; p3's interface is missing: counted and retried, not fatal
        assert list(path.bindings) == [ids["p1"]]
        assert path.counters["bind_failures"] == 1
        p1 = path.bindings[ids["p1"]].port_no
        tunnel_flows = [f for f in dp.flows.values() if f[0].tunnel is not None]
        assert len(tunnel_flows) == 2  # IPv4 and ARP
        assert all(a == (Output(p1),) for _, _, a in tunnel_flows)
        await path.handle_safely(_upcall(_udp(src.topo, ids, 1000), p1))
        # MAC learned and committed; the flow tunnels to h2 with p2's tunnel key
        assert any(isinstance(u, MacLearned) and u.port_id == ids["p1"] for u in src.committed)
        installed = [a for _, _, a in dp.flows.values() if any(isinstance(x, SetTunnel) for x in a)]
        assert len(installed) == 1
        tun = installed[0][0]
        assert isinstance(tun, SetTunnel)
        assert tun.tunnel.tun_id == src.topo.tunnel_keys[ids["p2"]]
        assert dp.executed and dp.executed[-1][1] == installed[0]
        # topology change: p2 goes -> the flows tagged with it are deleted
        path.topology_changed()
        b2, _ = _topo()
        b2.remove("ports", ids["p2"])
        src.topo = b2.build()
        await path.process_changes()
        assert not any(any(isinstance(x, SetTunnel) for x in a) for _, _, a in dp.flows.values())
        assert path.counters["flows_invalidated"] >= 1
    finally:
        await path.stop()


async def test_failing_simulation_is_counted_and_the_next_upcall_still_runs() -> None:
    path, dp, src, ids, _ = await _path()
    try:
        p1 = path.bindings[ids["p1"]].port_no
        src.fail = True
        path.topology_changed()  # forces a fresh (failing) topology read
        await path.handle_safely(_upcall(_udp(src.topo, ids, 1), p1))
        assert path.counters["upcall_errors"] == 1
        src.fail = False
        await path.process_changes()  # the topology reads again
        await path.handle_safely(_upcall(_udp(src.topo, ids, 2), p1))
        assert path.counters["simulations"] == 1
        assert dp.executed
    finally:
        await path.stop()


async def test_queue_is_bounded_and_hard_timeouts_delete_flows() -> None:
    # no worker: upcalls pile up in the queue
    path, dp, src, ids, _ = await _path(PathConfig(queue_size=2, expiry_interval=3600), False)
    try:
        p1 = path.bindings[ids["p1"]].port_no
        await asyncio.sleep(0)
        for i in range(5):
            dp.queue.put_nowait(_upcall(_udp(src.topo, ids, i), p1))
        for _ in range(20):
            await asyncio.sleep(0)
        assert path.counters["upcalls"] == 5
        assert path.counters["upcalls_dropped"] == 3
        await path.handle_safely(_upcall(_udp(src.topo, ids, 99), p1))
        assert len(path.tracker) == 1
        n = len(dp.flows)
        assert await path.expire(path.clock() + 61) == 1
        assert len(dp.flows) == n - 1
    finally:
        await path.stop()


async def test_arp_learned_is_committed() -> None:
    b = TopologyBuilder("arp")
    br = b.bridge("A")
    r = b.router("A")
    vm = b.port(br, binding={"host_id": "h1", "interface": "t1"}, addresses=[])
    rp, _ = b.attach(r, br, "10.0.0.1/24")
    topo = b.build()
    src = Sources(topo)
    dp = FakeDatapath()
    path = PacketPath(dp, "h1", src, PathConfig(expiry_interval=3600))
    await path.start()
    try:
        mac = topo.ports[vm].mac
        reply = Packet(
            eth_src=mac,
            eth_dst=topo.ports[rp].mac,
            ethertype=0x0806,
            arp_op=2,
            arp_sha=mac,
            arp_spa=parse_ip("10.0.0.9"),
            arp_tha=topo.ports[rp].mac,
            arp_tpa=parse_ip("10.0.0.1"),
        )
        await path.handle_safely(_upcall(reply, path.bindings[vm].port_no))
        assert ArpLearned(r, parse_ip("10.0.0.9"), mac) in src.committed
    finally:
        await path.stop()
