"""Which exterior ports are bound to which local interfaces (pure bookkeeping).

The topology says which ports are bound to this host and on which interface; the table knows
which of them are attached to the datapath (port number), their tunnel key and the tunnel-in
flows installed for them. The shell attaches and detaches interfaces; this decides what to
attach, what to detach and which interface is already taken.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from services.topology.snapshot import Topology


@dataclass(frozen=True, slots=True)
class Binding:
    """An exterior port attached to the datapath through a local interface."""

    port_id: str
    interface: str
    port_no: int
    tunnel_key: int = 0
    tunnel_flows: tuple[bytes, ...] = ()  # UFIDs of its tunnel-in flows


@dataclass(frozen=True, slots=True)
class Wanted:
    """A binding the topology asks for: interface and tunnel key of one port."""

    interface: str
    tunnel_key: int


def wanted(topo: Topology, host_id: str) -> dict[str, Wanted]:
    """Port id -> what is wanted, for the exterior ports the topology binds to ``host_id``."""
    out: dict[str, Wanted] = {}
    for port in topo.ports.values():
        b = port.binding
        if b is not None and b.host_id == host_id and port.peer_id is None:
            out[port.id] = Wanted(b.interface, topo.tunnel_keys.get(port.id, 0))
    return out


class BindingTable:
    """The current bindings, by port id, datapath port number and tunnel key."""

    __slots__ = ("_by_id", "_by_port_no", "_by_tunnel_key", "_view")

    def __init__(self) -> None:
        self._by_id: dict[str, Binding] = {}
        self._by_port_no: dict[int, str] = {}
        self._by_tunnel_key: dict[int, str] = {}
        self._view = MappingProxyType(self._by_id)

    def __len__(self) -> int:
        return len(self._by_id)

    def __iter__(self) -> Iterator[Binding]:
        return iter(list(self._by_id.values()))

    def by_id(self) -> Mapping[str, Binding]:
        """Port id -> binding (a read-only live view)."""
        return self._view

    def get(self, port_id: str) -> Binding | None:
        return self._by_id.get(port_id)

    def port_at(self, port_no: int) -> str | None:
        """The port bound at datapath port ``port_no``."""
        return self._by_port_no.get(port_no)

    def port_with_key(self, tunnel_key: int) -> Binding | None:
        """The binding whose port has tunnel key ``tunnel_key``."""
        port_id = self._by_tunnel_key.get(tunnel_key)
        return None if port_id is None else self._by_id.get(port_id)

    def stale(self, want: Mapping[str, Wanted]) -> list[Binding]:
        """Bindings no longer wanted, or wanted on another interface."""
        return [
            b
            for pid, b in self._by_id.items()
            if pid not in want or want[pid].interface != b.interface
        ]

    def interface_taken(self, interface: str) -> bool:
        """Another port is bound to ``interface`` already."""
        return any(b.interface == interface for b in self._by_id.values())

    def add(self, port_id: str, interface: str, port_no: int) -> Binding:
        """Record a new binding (no tunnel key yet)."""
        bound = Binding(port_id, interface, port_no)
        self._by_id[port_id] = bound
        self._by_port_no[port_no] = port_id
        return bound

    def remove(self, bound: Binding) -> None:
        """Forget a binding and its tunnel key."""
        self._by_tunnel_key.pop(bound.tunnel_key, None)
        self._by_id.pop(bound.port_id, None)
        self._by_port_no.pop(bound.port_no, None)

    def retunnel(self, port_id: str, tunnel_key: int, register: bool) -> Binding:
        """Give a binding a new tunnel key (its tunnel flows are forgotten: the caller deleted
        them); ``register``: packets with that key are delivered to it."""
        old = self._by_id[port_id]
        self._by_tunnel_key.pop(old.tunnel_key, None)
        new = dataclasses.replace(old, tunnel_key=tunnel_key, tunnel_flows=())
        self._by_id[port_id] = new
        if tunnel_key and register:
            self._by_tunnel_key[tunnel_key] = port_id
        return new

    def add_tunnel_flow(self, port_id: str, ufid: bytes) -> None:
        """Record a tunnel-in flow installed for a binding."""
        old = self._by_id[port_id]
        self._by_id[port_id] = dataclasses.replace(old, tunnel_flows=(*old.tunnel_flows, ufid))

    def port_numbers(self) -> dict[str, int]:
        """Port id -> datapath port number."""
        return {pid: b.port_no for pid, b in self._by_id.items()}

    def tunnel_flow_owners(self) -> dict[bytes, str]:
        """UFID of each tunnel-in flow -> the port it delivers to."""
        return {u: b.port_id for b in self._by_id.values() for u in b.tunnel_flows}
