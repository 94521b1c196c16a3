"""The kernel backend: an Open vSwitch kernel datapath driven over generic netlink.

Upcalls arrive on one handler socket of our own. Where the kernel offers it, the datapath
dispatches upcalls per CPU (DP_CMD with PER_CPU_PIDS, every CPU pointing at the handler);
otherwise each vport carries the handler's PID. A full handler socket (ENOBUFS) loses
upcalls: counted in ``upcall_overflows`` (the kernel counts them as ``lost`` too), never fatal.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import socket
from collections.abc import AsyncIterator, Sequence

from datapath.api import (
    Datapath,
    DatapathError,
    DatapathStats,
    Flow,
    FlowStats,
    PortEvent,
    PortEventKind,
    PortInfo,
    PortStats,
    PortType,
    Upcall,
    check_execute_packet,
    new_ufid,
)
from datapath.flow.actions import Action
from datapath.flow.key import NO_PORT, FlowKey, TunnelKey
from datapath.flow.mask import FlowMask
from datapath.netns import in_netns
from datapath.odp import attrs as A
from datapath.odp import convert, decode, links, wire
from datapath.odp.channel import AckChannel
from datapath.odp.family import Family
from datapath.odp.nlmsg import NlMsg, as_int, get_attr, int_field
from datapath.odp.wire import (
    NETLINK_GENERIC,
    NLM_F_ACK,
    NLM_F_CREATE,
    NLM_F_EXCL,
    NLM_F_REQUEST,
    NLMSG_HDR,
    unpack_nlmsghdr,
)

log = logging.getLogger(__name__)

SOL_NETLINK = 270
NETLINK_ADD_MEMBERSHIP = 1
RCVBUF = 8 << 20

_VPORT_TYPES = {
    A.OVS_VPORT_TYPE_NETDEV: PortType.NETDEV,
    A.OVS_VPORT_TYPE_INTERNAL: PortType.INTERNAL,
    A.OVS_VPORT_TYPE_GRE: PortType.GRE,
    A.OVS_VPORT_TYPE_VXLAN: PortType.VXLAN,
    A.OVS_VPORT_TYPE_GENEVE: PortType.GENEVE,
}
_TUNNEL_VPORT = {
    PortType.VXLAN: A.OVS_VPORT_TYPE_VXLAN,
    PortType.GRE: A.OVS_VPORT_TYPE_GRE,
    PortType.GENEVE: A.OVS_VPORT_TYPE_GENEVE,
}


def _raw_socket(netns: str | None, groups: int = 0) -> socket.socket:
    with in_netns(netns):
        sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_GENERIC)
    try:
        try:
            sock.setsockopt(socket.SOL_SOCKET, 33, RCVBUF)  # SO_RCVBUFFORCE (root)
        except OSError:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RCVBUF)
        sock.bind((0, groups))
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


def _messages(data: bytes) -> list[tuple[int, bytes]]:
    """(type, bytes) of each netlink message in a datagram; the last may be unpadded."""
    out: list[tuple[int, bytes]] = []
    off = 0
    while off + NLMSG_HDR.size <= len(data):
        length, mtype, _flags, _seq, _pid = unpack_nlmsghdr(data, off)
        if length < NLMSG_HDR.size or off + length > len(data):
            raise ValueError(f"bad netlink length {length} at offset {off}")
        out.append((mtype, data[off : off + length]))
        off += (length + 3) & ~3
    if off < len(data) and any(data[off:]):
        raise ValueError(f"{len(data) - off} trailing bytes are not a netlink message")
    return out


class KernelDatapath(Datapath):
    """An OVS kernel datapath; make one with ``await KernelDatapath.create(name)``."""

    def __init__(self, name: str, netns: str | None) -> None:
        self.name = name
        self.netns = netns
        self.dp_ifindex = 0
        self.per_cpu = False
        self.owned = False
        self.upcall_pid = 0
        self.upcall_overflows = 0  # ENOBUFS on the handler socket
        self.bad_messages = 0  # upcalls / events that did not decode
        self._dp = Family(A.OVS_DATAPATH_FAMILY, A.ovs_dp_msg, A.OVS_DATAPATH_VERSION)
        self._vport = Family(A.OVS_VPORT_FAMILY, A.ovs_vport_msg, A.OVS_VPORT_VERSION)
        self._flow = Family(A.OVS_FLOW_FAMILY, A.ovs_flow_msg, A.OVS_FLOW_VERSION)
        self._packet = Family(A.OVS_PACKET_FAMILY, A.ovs_packet_msg, A.OVS_PACKET_VERSION)
        self._handler: socket.socket | None = None
        self._acks: AckChannel | None = None  # flow install and execute, pipelined
        self._events_sock: socket.socket | None = None
        self._upcalls: asyncio.Queue[Upcall] = asyncio.Queue(4096)
        self._listeners: list[asyncio.Queue[PortEvent]] = []
        self._tunnel_devices: dict[str, PortType] = {}  # rtnetlink devices we made
        self._known_ports: set[int] = set()
        self._loop = asyncio.get_running_loop()

    # lifecycle ---------------------------------------------------------------

    @classmethod
    async def create(
        cls, name: str, netns: str | None = None, per_cpu: bool = True
    ) -> KernelDatapath:
        """Create datapath ``name`` (destroyed again by close())."""
        dp = cls(name, netns)
        await dp._open()
        try:
            await dp._new(per_cpu)
        except BaseException:
            await dp._close_sockets()
            raise
        dp.owned = True
        await dp._start()
        return dp

    @classmethod
    async def open(cls, name: str, netns: str | None = None) -> KernelDatapath:
        """Attach to an existing datapath (left in place by close())."""
        dp = cls(name, netns)
        await dp._open()
        try:
            (reply,) = await dp._dp.request(A.OVS_CMD_GET, 0, [["OVS_DP_ATTR_NAME", name]])
            dp.dp_ifindex = int_field(reply, "dp_ifindex")
            features = as_int(get_attr(reply, "OVS_DP_ATTR_USER_FEATURES") or 0)
            dp.per_cpu = bool(features & A.OVS_DP_F_DISPATCH_UPCALL_PER_CPU)
            if dp.per_cpu:
                await dp._set_per_cpu(features)
        except BaseException:
            await dp._close_sockets()
            raise
        await dp._start()
        return dp

    async def _open(self) -> None:
        for fam in (self._dp, self._vport, self._flow, self._packet):
            await fam.open(self.netns)
        self._handler = _raw_socket(self.netns)
        self.upcall_pid = self._handler.getsockname()[0]
        self._acks = AckChannel(self.netns)

    async def _new(self, per_cpu: bool) -> None:
        base: list[list[object]] = [
            ["OVS_DP_ATTR_NAME", self.name],
            ["OVS_DP_ATTR_UPCALL_PID", self.upcall_pid],
        ]
        if per_cpu:
            features = A.OVS_DP_F_UNALIGNED | A.OVS_DP_F_DISPATCH_UPCALL_PER_CPU
            pids = [self.upcall_pid] * (os.cpu_count() or 1)
            try:
                (reply,) = await self._dp.request(
                    A.OVS_CMD_NEW,
                    0,
                    [
                        *base,
                        ["OVS_DP_ATTR_USER_FEATURES", features],
                        ["OVS_DP_ATTR_PER_CPU_PIDS", pids],
                    ],
                    NLM_F_CREATE | NLM_F_EXCL,
                )
                self.dp_ifindex = int_field(reply, "dp_ifindex")
                self.per_cpu = True
                return
            except DatapathError as exc:
                if exc.errno not in (errno.EOPNOTSUPP, errno.EINVAL):
                    raise
                log.info("datapath %s: no per-CPU upcall dispatch (%s)", self.name, exc)
        (reply,) = await self._dp.request(
            A.OVS_CMD_NEW,
            0,
            [*base, ["OVS_DP_ATTR_USER_FEATURES", A.OVS_DP_F_UNALIGNED]],
            NLM_F_CREATE | NLM_F_EXCL,
        )
        self.dp_ifindex = int_field(reply, "dp_ifindex")

    async def _set_per_cpu(self, features: int) -> None:
        pids = [self.upcall_pid] * (os.cpu_count() or 1)
        await self._dp.request(
            A.OVS_CMD_SET,
            self.dp_ifindex,
            [
                ["OVS_DP_ATTR_USER_FEATURES", features],
                ["OVS_DP_ATTR_PER_CPU_PIDS", pids],
            ],
        )

    async def _start(self) -> None:
        assert self._handler is not None
        self._loop.add_reader(self._handler.fileno(), self._on_upcalls)
        groups = self._vport.mcast_groups
        if A.OVS_VPORT_MCGROUP in groups:
            sock = _raw_socket(self.netns)
            sock.setsockopt(SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, groups[A.OVS_VPORT_MCGROUP])
            self._events_sock = sock
            self._loop.add_reader(sock.fileno(), self._on_events)
        self._known_ports = {p.port_no for p in await self.list_ports()}

    async def _close_sockets(self) -> None:
        for sock in (self._handler, self._events_sock):
            if sock is not None:
                with contextlib.suppress(ValueError, OSError):
                    self._loop.remove_reader(sock.fileno())
                sock.close()
        self._handler = self._events_sock = None
        if self._acks is not None:
            self._acks.close()
            self._acks = None
        for fam in (self._dp, self._vport, self._flow, self._packet):
            fam.close()

    async def close(self) -> None:
        if self._dp.sock is None:
            return
        try:
            if self.owned:
                with contextlib.suppress(DatapathError):
                    await self._dp.request(A.OVS_CMD_DEL, self.dp_ifindex, [])
                for name in list(self._tunnel_devices):
                    with contextlib.suppress(DatapathError, OSError):
                        await links.delete_device(name, self.netns)
        finally:
            await self._close_sockets()

    # ports -------------------------------------------------------------------

    def _port_info(self, msg: NlMsg) -> PortInfo:
        name = get_attr(msg, "OVS_VPORT_ATTR_NAME")
        vtype = get_attr(msg, "OVS_VPORT_ATTR_TYPE")
        port_no = get_attr(msg, "OVS_VPORT_ATTR_PORT_NO")
        if not isinstance(name, str) or not isinstance(port_no, int):
            raise convert.DecodeError("vport message without name or port number")
        known = _VPORT_TYPES.get(vtype, PortType.NETDEV) if isinstance(vtype, int) else None
        ptype = self._tunnel_devices.get(name) or known or PortType.NETDEV
        stats = PortStats()
        s = get_attr(msg, "OVS_VPORT_ATTR_STATS")
        if s is not None:
            stats = PortStats(
                int_field(s, "rx_packets"),
                int_field(s, "tx_packets"),
                int_field(s, "rx_bytes"),
                int_field(s, "tx_bytes"),
                int_field(s, "rx_dropped"),
                int_field(s, "tx_dropped"),
            )
        dst_port = None
        opts = get_attr(msg, "OVS_VPORT_ATTR_OPTIONS")
        if opts is not None:
            port = get_attr(opts, "OVS_TUNNEL_ATTR_DST_PORT")
            dst_port = None if port is None else as_int(port)
        return PortInfo(port_no, name, ptype, stats, dst_port)

    async def _add_vport(
        self, name: str, vtype: int, options: list[list[object]] | None = None
    ) -> PortInfo:
        attrs: list[list[object]] = [
            ["OVS_VPORT_ATTR_NAME", name],
            ["OVS_VPORT_ATTR_TYPE", vtype],
            ["OVS_VPORT_ATTR_UPCALL_PID", [self.upcall_pid]],
        ]
        if options is not None:
            attrs.append(["OVS_VPORT_ATTR_OPTIONS", {"attrs": options}])
        (reply,) = await self._vport.request(A.OVS_CMD_NEW, self.dp_ifindex, attrs, NLM_F_CREATE)
        info = self._port_info(reply)
        self._known_ports.add(info.port_no)
        return info

    async def add_netdev_port(self, ifname: str) -> PortInfo:
        return await self._add_vport(ifname, A.OVS_VPORT_TYPE_NETDEV)

    async def add_internal_port(self, name: str) -> PortInfo:
        return await self._add_vport(name, A.OVS_VPORT_TYPE_INTERNAL)

    async def add_tunnel_port(
        self,
        name: str,
        type: PortType = PortType.VXLAN,
        dst_port: int = 4789,
        *,
        device: bool = True,
    ) -> PortInfo:
        """VXLAN: a collect-metadata rtnetlink device attached as NETDEV (unless ``device`` is
        False), else the compat vport; GRE and Geneve: the compat vport types."""
        if type not in _TUNNEL_VPORT:
            raise DatapathError(f"{type.value} is not a tunnel type", errno.EINVAL)
        if type is PortType.VXLAN and device:
            try:
                await links.create_vxlan_device(name, dst_port, self.netns)
            except DatapathError as exc:
                log.info("vxlan device %s: %s; trying the compat vport", name, exc)
            else:
                self._tunnel_devices[name] = PortType.VXLAN
                try:
                    info = await self.add_netdev_port(name)
                except DatapathError:
                    del self._tunnel_devices[name]
                    await links.delete_device(name, self.netns)
                    raise
                return PortInfo(info.port_no, name, PortType.VXLAN, info.stats, dst_port)
        options = None
        if type in (PortType.VXLAN, PortType.GENEVE):
            options = [["OVS_TUNNEL_ATTR_DST_PORT", dst_port]]
        return await self._add_vport(name, _TUNNEL_VPORT[type], options)

    async def list_ports(self) -> list[PortInfo]:
        replies = await self._vport.request(A.OVS_CMD_GET, self.dp_ifindex, [], dump=True)
        ports = []
        for msg in replies:
            try:
                ports.append(self._port_info(msg))
            except (convert.DecodeError, KeyError, TypeError) as exc:
                self.bad_messages += 1
                log.warning("datapath %s: bad vport reply: %s", self.name, exc)
        return sorted(ports, key=lambda p: p.port_no)

    async def remove_port(self, port_no: int) -> None:
        replies = await self._vport.request(
            A.OVS_CMD_DEL, self.dp_ifindex, [["OVS_VPORT_ATTR_PORT_NO", port_no]]
        )
        if len(replies) > 1:
            raise ValueError(f"{len(replies)} replies to one vport delete")
        self._known_ports.discard(port_no)
        name = get_attr(replies[0], "OVS_VPORT_ATTR_NAME") if replies else None
        if isinstance(name, str) and name in self._tunnel_devices:
            del self._tunnel_devices[name]
            await links.delete_device(name, self.netns)

    def port_events(self) -> AsyncIterator[PortEvent]:
        q: asyncio.Queue[PortEvent] = asyncio.Queue()
        self._listeners.append(q)
        return _events(q, self._listeners)

    def _on_events(self) -> None:
        assert self._events_sock is not None
        while True:
            try:
                data = self._events_sock.recv(65536)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                if exc.errno == errno.ENOBUFS:
                    log.warning("datapath %s: port events lost (ENOBUFS)", self.name)
                    continue
                raise
            try:
                for mtype, raw in _messages(data):
                    if mtype != self._vport.family_id:
                        continue
                    msg: NlMsg = A.ovs_vport_msg(raw)
                    msg.decode()
                    if msg["dp_ifindex"] != self.dp_ifindex:
                        continue
                    info = self._port_info(msg)
                    if msg["cmd"] == A.OVS_CMD_DEL:
                        kind = PortEventKind.REMOVED
                        self._known_ports.discard(info.port_no)
                    elif info.port_no in self._known_ports and msg["cmd"] != A.OVS_CMD_NEW:
                        kind = PortEventKind.CHANGED
                    else:
                        kind = PortEventKind.ADDED
                        self._known_ports.add(info.port_no)
                    for q in self._listeners:
                        q.put_nowait(PortEvent(kind, info))
            except Exception as exc:  # a bad message must not kill the reader
                self.bad_messages += 1
                log.warning("datapath %s: bad vport event: %s", self.name, exc)

    # flows -------------------------------------------------------------------

    async def install_flow(
        self,
        key: FlowKey,
        mask: FlowMask | None,
        actions: Sequence[Action],
        ufid: bytes | None = None,
        replace: bool = False,
    ) -> bytes:
        ufid = new_ufid() if ufid is None else ufid
        key_attrs, mask_attrs = convert.match_attrs(key, mask)
        attrs: list[list[object]] = [
            ["OVS_FLOW_ATTR_KEY", {"attrs": key_attrs}],
            ["OVS_FLOW_ATTR_MASK", {"attrs": mask_attrs}],
            ["OVS_FLOW_ATTR_ACTIONS", {"attrs": convert.action_attrs(actions, self.upcall_pid)}],
            ["OVS_FLOW_ATTR_UFID", ufid],
            [
                "OVS_FLOW_ATTR_UFID_FLAGS",
                A.OVS_UFID_F_OMIT_KEY | A.OVS_UFID_F_OMIT_MASK | A.OVS_UFID_F_OMIT_ACTIONS,
            ],
        ]
        flags = NLM_F_CREATE if replace else NLM_F_CREATE | NLM_F_EXCL
        await self._ack_request(self._flow, A.OVS_CMD_NEW, attrs, flags, "flow install")
        return ufid

    async def _ack_request(
        self, family: Family, cmd: int, attrs: Sequence[Sequence[object]], flags: int, what: str
    ) -> None:
        """Pack with the fast packer and wait for the kernel's ACK (no reply message)."""
        if self._acks is None:
            raise DatapathError("datapath is closed", errno.ESHUTDOWN)
        seq = self._acks.next_seq()
        data = wire.pack_message(
            family.msg_class,
            family.family_id,
            NLM_F_REQUEST | NLM_F_ACK | flags,
            seq,
            cmd,
            family.version,
            self.dp_ifindex,
            attrs,
        )
        await self._acks.request(seq, data, what)

    async def delete_flow(self, ufid: bytes) -> FlowStats:
        replies = await self._flow.request(
            A.OVS_CMD_DEL,
            self.dp_ifindex,
            [
                ["OVS_FLOW_ATTR_UFID", ufid],
                [
                    "OVS_FLOW_ATTR_UFID_FLAGS",
                    A.OVS_UFID_F_OMIT_KEY | A.OVS_UFID_F_OMIT_MASK | A.OVS_UFID_F_OMIT_ACTIONS,
                ],
            ],
        )
        if not replies:
            return FlowStats()
        try:
            return decode.stats_from_msg(replies[0])
        except convert.DecodeError as exc:
            self.bad_messages += 1
            log.warning("datapath %s: bad flow delete reply: %s", self.name, exc)
            return FlowStats()

    async def dump_flows(self) -> list[Flow]:
        replies = await self._flow.request(A.OVS_CMD_GET, self.dp_ifindex, [], dump=True)
        flows = []
        for msg in replies:
            try:
                flows.append(decode.flow_from_msg(msg))
            except convert.DecodeError as exc:
                self.bad_messages += 1
                log.warning("datapath %s: undecodable flow in dump: %s", self.name, exc)
        return flows

    async def flush_flows(self) -> None:
        await self._flow.request(A.OVS_CMD_DEL, self.dp_ifindex, [])

    # packets -----------------------------------------------------------------

    async def execute(
        self,
        packet: bytes,
        actions: Sequence[Action],
        in_port: int = NO_PORT,
        tunnel: TunnelKey | None = None,
        skb_mark: int = 0,
    ) -> None:
        check_execute_packet(packet)
        attrs: list[list[object]] = [
            ["OVS_PACKET_ATTR_PACKET", bytes(packet)],
            ["OVS_PACKET_ATTR_KEY", {"attrs": convert.metadata_attrs(in_port, skb_mark, tunnel)}],
            ["OVS_PACKET_ATTR_ACTIONS", {"attrs": convert.action_attrs(actions, self.upcall_pid)}],
        ]
        await self._ack_request(self._packet, A.OVS_PACKET_CMD_EXECUTE, attrs, 0, "execute")

    def _on_upcalls(self) -> None:
        assert self._handler is not None
        for _ in range(256):
            try:
                data = self._handler.recv(1 << 18)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                if exc.errno == errno.ENOBUFS:
                    self.upcall_overflows += 1
                    log.warning("datapath %s: upcall socket overflowed (ENOBUFS)", self.name)
                    continue
                raise
            self._handle_upcall_datagram(data)

    def _handle_upcall_datagram(self, data: bytes) -> None:
        try:
            messages = _messages(data)
        except ValueError as exc:
            self.bad_messages += 1
            log.warning("datapath %s: bad upcall datagram: %s", self.name, exc)
            return
        for mtype, raw in messages:
            if mtype != self._packet.family_id:
                continue
            upcall = self.decode_upcall(raw)
            if upcall is None:
                continue
            try:
                self._upcalls.put_nowait(upcall)
            except asyncio.QueueFull:
                self.upcall_overflows += 1

    def decode_upcall(self, raw: bytes) -> Upcall | None:
        """An Upcall from one ovs_packet message; None (counted, logged) if it is bad."""
        try:
            return decode.upcall_from_bytes(raw)
        except convert.DecodeError as exc:
            self.bad_messages += 1
            log.warning("datapath %s: undecodable upcall: %s", self.name, exc)
            return None

    def upcalls(self) -> AsyncIterator[Upcall]:
        return self._upcall_stream()

    async def _upcall_stream(self) -> AsyncIterator[Upcall]:
        while True:
            yield await self._upcalls.get()

    async def stats(self) -> DatapathStats:
        (reply,) = await self._dp.request(A.OVS_CMD_GET, self.dp_ifindex, [])
        s = get_attr(reply, "OVS_DP_ATTR_STATS")
        if s is None:
            return DatapathStats()
        return DatapathStats(
            int_field(s, "n_hit"),
            int_field(s, "n_missed"),
            int_field(s, "n_lost"),
            int_field(s, "n_flows"),
        )


async def _events(
    q: asyncio.Queue[PortEvent], listeners: list[asyncio.Queue[PortEvent]]
) -> AsyncIterator[PortEvent]:
    try:
        while True:
            yield await q.get()
    finally:
        listeners.remove(q)
