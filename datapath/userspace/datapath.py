"""The userspace datapath: ports read on the event loop, a FlowTable, action execution.

For hosts without openvswitch.ko. Established flows are forwarded in this process (one core):
receive, extract the flat key, look it up, execute the actions, send. Misses and userspace
actions become upcalls on a bounded queue; when it is full the upcall is counted as lost.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import time
from collections.abc import AsyncIterator, Callable, Sequence

from datapath.api import (
    Datapath,
    DatapathError,
    DatapathStats,
    Flow,
    FlowStats,
    PortEvent,
    PortEventKind,
    PortInfo,
    PortType,
    Upcall,
    UpcallKind,
    check_execute_packet,
    new_ufid,
)
from datapath.flow.actions import Action, Output
from datapath.flow.flat import unflatten
from datapath.flow.key import NO_PORT, FlowKey, TunnelKey
from datapath.flow.mask import FlowMask
from datapath.netns import in_netns
from datapath.packet.parse import extract, parse_packet
from datapath.userspace.classifier import FlowTable
from datapath.userspace.execute import Emit, execute, validate
from datapath.userspace.ports import NetdevPort, Port, TapPort, VxlanPort

log = logging.getLogger(__name__)

BUDGET = 64  # frames read from one port per wake-up


class UserspaceDatapath(Datapath):
    """A datapath in this process. ``netns`` names the namespace its sockets live in."""

    def __init__(
        self,
        name: str = "udp0",
        netns: str | None = None,
        upcall_queue: int = 4096,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self.netns = netns
        self.table = FlowTable()
        self._ports: dict[int, Port] = {}
        self._upcalls: asyncio.Queue[Upcall] = asyncio.Queue(upcall_queue)
        self._listeners: list[asyncio.Queue[PortEvent]] = []
        self._loop = asyncio.get_running_loop()
        self._clock = clock
        self.hits = self.missed = self.lost = 0
        self._closed = False

    # ports -----------------------------------------------------------------

    def _next_port_no(self) -> int:
        port_no = 1
        while port_no in self._ports:
            port_no += 1
        return port_no

    def _attach(self, make: Callable[[int], Port]) -> PortInfo:
        if self._closed:
            raise DatapathError("datapath is closed")
        port_no = self._next_port_no()
        try:
            with in_netns(self.netns):
                port = make(port_no)
        except OSError as exc:
            raise DatapathError(f"cannot open port: {exc}", exc.errno) from exc
        self._ports[port_no] = port
        self._loop.add_reader(port.fileno(), self._on_readable, port)
        info = port.info()
        self._notify(PortEvent(PortEventKind.ADDED, info))
        return info

    def _check_name(self, name: str) -> None:
        if any(p.name == name for p in self._ports.values()):
            raise DatapathError(f"port {name} exists", errno.EBUSY)

    async def add_netdev_port(self, ifname: str) -> PortInfo:
        self._check_name(ifname)
        return self._attach(lambda no: NetdevPort(no, ifname))

    async def add_internal_port(self, name: str) -> PortInfo:
        self._check_name(name)
        return self._attach(lambda no: TapPort(no, name))

    async def add_tunnel_port(
        self, name: str, type: PortType = PortType.VXLAN, dst_port: int = 4789
    ) -> PortInfo:
        if type is not PortType.VXLAN:
            raise DatapathError(f"userspace datapath has no {type.value} tunnels", errno.EOPNOTSUPP)
        self._check_name(name)
        return self._attach(lambda no: VxlanPort(no, name, dst_port))

    async def list_ports(self) -> list[PortInfo]:
        return [p.info() for p in self._ports.values()]

    async def remove_port(self, port_no: int) -> None:
        port = self._ports.pop(port_no, None)
        if port is None:
            raise DatapathError(f"no port {port_no}", errno.ENODEV)
        self._loop.remove_reader(port.fileno())
        info = port.info()
        port.close()
        self._notify(PortEvent(PortEventKind.REMOVED, info))

    def _notify(self, event: PortEvent) -> None:
        for q in self._listeners:
            q.put_nowait(event)

    def port_events(self) -> AsyncIterator[PortEvent]:
        q: asyncio.Queue[PortEvent] = asyncio.Queue()
        self._listeners.append(q)  # subscribed now: no event after this call is missed
        return _events(q, self._listeners)

    # flows -----------------------------------------------------------------

    async def install_flow(
        self,
        key: FlowKey,
        mask: FlowMask | None,
        actions: Sequence[Action],
        ufid: bytes | None = None,
        replace: bool = False,
    ) -> bytes:
        validate(actions)
        ufid = new_ufid() if ufid is None else ufid
        self.table.install(ufid, key, mask or FlowMask.exact(key), actions, replace)
        return ufid

    async def delete_flow(self, ufid: bytes) -> FlowStats:
        return self.table.delete(ufid).stats()

    async def dump_flows(self) -> list[Flow]:
        return [Flow(e.ufid, e.key, e.mask, e.actions, e.stats()) for e in self.table]

    async def flush_flows(self) -> None:
        self.table.flush()

    # packets ---------------------------------------------------------------

    def _on_readable(self, port: Port) -> None:
        try:
            frames = port.receive(BUDGET)
        except OSError as exc:
            log.warning("port %s: receive failed: %s", port.name, exc)
            return
        if not frames:
            return
        now = self._clock()
        lookup = self.table.lookup
        ports = self._ports
        port_no = port.port_no
        for frame, tun in frames:
            try:
                flat = extract(frame, port_no, 0, tun)
            except ValueError:
                port.rx_dropped += 1
                continue
            entry = lookup(flat)
            if entry is None:
                self.missed += 1
                self._upcall(Upcall(UpcallKind.MISS, unflatten(flat), frame))
                continue
            self.hits += 1
            entry.hit(len(frame), now, flat[24])
            if entry.fast is not None:
                for out_no, tunnel in entry.fast:
                    out = ports.get(out_no)
                    if out is not None:
                        out.send(frame, tunnel)
            else:
                self._emit(execute(frame, entry.actions), port_no)

    def _emit(self, emits: list[Emit], in_port: int) -> None:
        ports = self._ports
        for e in emits:
            if e.port is None:
                key = parse_packet(e.frame, in_port)
                self._upcall(Upcall(UpcallKind.ACTION, key, e.frame, e.userdata))
                continue
            out = ports.get(e.port)
            if out is not None:
                out.send(e.frame, e.tunnel)

    def _upcall(self, upcall: Upcall) -> None:
        try:
            self._upcalls.put_nowait(upcall)
        except asyncio.QueueFull:
            self.lost += 1

    async def execute(
        self,
        packet: bytes,
        actions: Sequence[Action],
        in_port: int = NO_PORT,
        tunnel: TunnelKey | None = None,
        skb_mark: int = 0,
    ) -> None:
        check_execute_packet(packet)
        validate(actions)
        for a in actions:
            if isinstance(a, Output) and a.port not in self._ports:
                raise DatapathError(f"no port {a.port}", errno.ENODEV)
        self._emit(execute(packet, actions, tunnel), in_port)

    def upcalls(self) -> AsyncIterator[Upcall]:
        return self._upcall_stream()

    async def _upcall_stream(self) -> AsyncIterator[Upcall]:
        while True:
            yield await self._upcalls.get()

    async def stats(self) -> DatapathStats:
        return DatapathStats(self.hits, self.missed, self.lost, len(self.table))

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for port_no in list(self._ports):
            await self.remove_port(port_no)


async def _events(
    q: asyncio.Queue[PortEvent], listeners: list[asyncio.Queue[PortEvent]]
) -> AsyncIterator[PortEvent]:
    try:
        while True:
            yield await q.get()
    finally:
        listeners.remove(q)
