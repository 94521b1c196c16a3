"""What the simulation reads besides the topology: MAC tables, ARP tables, ARP attempts.

The simulation never writes state: it returns MacLearned/ArpLearned values and the shell
commits them to the replicated tables. `DictStateView.apply` gives the pure equivalent.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from services.simulation.result import ArpLearned, MacLearned, StateUpdate
from services.topology.snapshot import Topology

MacKey = tuple[str, int]  # (bridge_id, vlan)


class StateView(Protocol):
    """Read-only view of learned state (replicated tables in the agent, dicts in tests)."""

    def mac_port(self, bridge_id: str, vlan: int, mac: int) -> str | None:
        """The port a MAC was learned on, for (bridge, vlan)."""
        ...

    def arp_mac(self, router_id: str, ip: int) -> int | None:
        """The MAC a router resolved `ip` to."""
        ...

    def arp_attempts(self, router_id: str, ip: int) -> int:
        """How many ARP requests for `ip` went unanswered so far."""
        ...


@dataclass(frozen=True, slots=True)
class DictStateView:
    """A StateView over plain dicts: {(bridge, vlan): {mac: port}}, {router: {ip: mac}}."""

    macs: Mapping[MacKey, Mapping[int, str]] = field(default_factory=dict)
    arps: Mapping[str, Mapping[int, int]] = field(default_factory=dict)
    attempts: Mapping[tuple[str, int], int] = field(default_factory=dict)

    def mac_port(self, bridge_id: str, vlan: int, mac: int) -> str | None:
        """See StateView."""
        table = self.macs.get((bridge_id, vlan))
        return None if table is None else table.get(mac)

    def arp_mac(self, router_id: str, ip: int) -> int | None:
        """See StateView."""
        table = self.arps.get(router_id)
        return None if table is None else table.get(ip)

    def arp_attempts(self, router_id: str, ip: int) -> int:
        """See StateView."""
        return self.attempts.get((router_id, ip), 0)

    def apply(self, updates: Iterable[StateUpdate]) -> DictStateView:
        """A new view with `updates` committed (this one is unchanged)."""
        macs = {k: dict(v) for k, v in self.macs.items()}
        arps = {k: dict(v) for k, v in self.arps.items()}
        for u in updates:
            if isinstance(u, MacLearned):
                macs.setdefault((u.bridge_id, u.vlan), {})[u.mac] = u.port_id
            elif isinstance(u, ArpLearned):
                arps.setdefault(u.router_id, {})[u.ip] = u.mac
        return DictStateView(macs, arps, dict(self.attempts))

    def with_attempt(self, router_id: str, ip: int) -> DictStateView:
        """A new view counting one more unanswered ARP request for (router, ip)."""
        attempts = dict(self.attempts)
        attempts[(router_id, ip)] = attempts.get((router_id, ip), 0) + 1
        return DictStateView(self.macs, self.arps, attempts)


def stale_mac_entries(
    entries: Mapping[tuple[str, int, int], tuple[str, str]],
    topology: Topology,
    live_hosts: frozenset[str],
) -> list[tuple[str, int, int]]:
    """Keys of learned MAC entries to delete.

    `entries` maps (bridge, vlan, mac) -> (port_id, learning host). An entry goes when its
    port is gone, moved off the bridge, no longer bound to the learning host, or that host
    left the mesh (learned entries belong to the host that learned them).
    """
    stale = []
    for key, (port_id, host) in entries.items():
        port = topology.ports.get(port_id)
        if (
            port is None
            or port.device_id != key[0]
            or host not in live_hosts
            or (port.peer_id is None and (port.binding is None or port.binding.host_id != host))
        ):
            stale.append(key)
    return stale
