"""The datapath interface both backends serve: ports, flows, packet execute and upcalls.

A backend is an async object: every method that talks to the kernel or to sockets is a
coroutine; port events and upcalls are async iterators. The values exchanged are our own flow
values (datapath.flow), never netlink messages or raw sockets.
"""

from __future__ import annotations

import abc
import enum
import errno as _errno
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field

from datapath.flow.actions import Action
from datapath.flow.key import NO_PORT, FlowKey, TunnelKey
from datapath.flow.mask import FlowMask


class DatapathError(Exception):
    """A datapath operation failed; ``errno`` is set when the kernel said why."""

    def __init__(self, message: str, errno: int | None = None) -> None:
        super().__init__(message)
        self.errno = errno


class PortType(enum.Enum):
    """Kinds of datapath port."""

    NETDEV = "netdev"  # an existing interface (veth, ...)
    INTERNAL = "internal"  # an interface the datapath creates for the host stack
    VXLAN = "vxlan"  # flow-based VXLAN tunnel (metadata from set(tunnel))
    GRE = "gre"
    GENEVE = "geneve"


TUNNEL_TYPES = frozenset((PortType.VXLAN, PortType.GRE, PortType.GENEVE))


@dataclass(frozen=True, slots=True)
class PortStats:
    """Packet and byte counters of a port, from the datapath's point of view."""

    rx_packets: int = 0
    tx_packets: int = 0
    rx_bytes: int = 0
    tx_bytes: int = 0
    rx_dropped: int = 0
    tx_dropped: int = 0


@dataclass(frozen=True, slots=True)
class PortInfo:
    """A datapath port: its number (what flows match and output to), name and type."""

    port_no: int
    name: str
    type: PortType
    stats: PortStats = field(default_factory=PortStats)
    dst_port: int | None = None  # UDP port of a tunnel


class PortEventKind(enum.Enum):
    """What happened to a port."""

    ADDED = "added"
    REMOVED = "removed"
    CHANGED = "changed"


@dataclass(frozen=True, slots=True)
class PortEvent:
    """A port appeared, disappeared or changed (from any program, for the kernel backend)."""

    kind: PortEventKind
    port: PortInfo


@dataclass(frozen=True, slots=True)
class FlowStats:
    """Counters of one flow; ``used`` is time.monotonic() of its last packet, None if unused."""

    packets: int = 0
    bytes: int = 0
    used: float | None = None
    tcp_flags: int = 0


@dataclass(frozen=True, slots=True)
class Flow:
    """An installed megaflow as dumped: UFID, key, mask, actions and counters."""

    ufid: bytes
    key: FlowKey
    mask: FlowMask
    actions: tuple[Action, ...]
    stats: FlowStats = field(default_factory=FlowStats)


class UpcallKind(enum.Enum):
    """Why a packet came up to userspace."""

    MISS = "miss"  # no flow matched
    ACTION = "action"  # a flow's userspace action


@dataclass(frozen=True, slots=True)
class Upcall:
    """A packet sent up to userspace, with its flow key as the datapath extracted it."""

    kind: UpcallKind
    key: FlowKey
    packet: bytes
    userdata: bytes | None = None


@dataclass(frozen=True, slots=True)
class DatapathStats:
    """Datapath counters: flow table hits and misses, upcalls lost, flows installed."""

    hits: int = 0
    missed: int = 0
    lost: int = 0
    flows: int = 0


def new_ufid() -> bytes:
    """A fresh 16-byte unique flow identifier."""
    return uuid.uuid4().bytes


ETH_HEADER_LEN = 14


def check_execute_packet(packet: bytes) -> None:
    """Refuse a packet to execute that cannot hold an Ethernet header (the kernel needs 14)."""
    if len(packet) < ETH_HEADER_LEN:
        raise DatapathError("packet shorter than an Ethernet header", _errno.EINVAL)


class Datapath(abc.ABC):
    """One datapath: a set of ports and a megaflow table; misses become upcalls."""

    name: str

    # ports
    @abc.abstractmethod
    async def add_netdev_port(self, ifname: str) -> PortInfo:
        """Attach an existing network interface."""

    @abc.abstractmethod
    async def add_internal_port(self, name: str) -> PortInfo:
        """Create an interface for the local stack, attached to the datapath."""

    @abc.abstractmethod
    async def add_tunnel_port(
        self, name: str, type: PortType = PortType.VXLAN, dst_port: int = 4789
    ) -> PortInfo:
        """Create a flow-based tunnel port (the tunnel id and peer come from set(tunnel))."""

    @abc.abstractmethod
    async def list_ports(self) -> list[PortInfo]:
        """Every port of the datapath."""

    @abc.abstractmethod
    async def remove_port(self, port_no: int) -> None:
        """Detach (and, for internal and tunnel ports, destroy) a port."""

    @abc.abstractmethod
    def port_events(self) -> AsyncIterator[PortEvent]:
        """Port additions and removals, as they happen."""

    # flows
    @abc.abstractmethod
    async def install_flow(
        self,
        key: FlowKey,
        mask: FlowMask | None,
        actions: Sequence[Action],
        ufid: bytes | None = None,
        replace: bool = False,
    ) -> bytes:
        """Install a megaflow (mask None: exact match); returns its UFID."""

    @abc.abstractmethod
    async def delete_flow(self, ufid: bytes) -> FlowStats:
        """Delete one flow by UFID; returns its final counters."""

    @abc.abstractmethod
    async def dump_flows(self) -> list[Flow]:
        """Every installed flow with its counters."""

    @abc.abstractmethod
    async def flush_flows(self) -> None:
        """Delete every flow."""

    # packets
    @abc.abstractmethod
    async def execute(
        self,
        packet: bytes,
        actions: Sequence[Action],
        in_port: int = NO_PORT,
        tunnel: TunnelKey | None = None,
        skb_mark: int = 0,
    ) -> None:
        """Run actions on a packet given by userspace (as if it had entered on ``in_port``)."""

    @abc.abstractmethod
    def upcalls(self) -> AsyncIterator[Upcall]:
        """Misses and userspace-action packets, with their decoded flow keys."""

    @abc.abstractmethod
    async def stats(self) -> DatapathStats:
        """Datapath counters."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Release sockets; a datapath this object created is destroyed."""

    async def expire_idle(self, max_idle: float, now: float | None = None) -> int:
        """Delete flows unused for ``max_idle`` seconds (or never used and older); returns how
        many. Datapaths keep flows forever, so the agent calls this periodically."""
        now = time.monotonic() if now is None else now
        expired = 0
        for flow in await self.dump_flows():
            used = flow.stats.used
            if used is None or now - used >= max_idle:
                try:
                    await self.delete_flow(flow.ufid)
                    expired += 1
                except DatapathError:
                    pass  # already gone
        return expired
