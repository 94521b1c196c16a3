"""Which flow tags a change invalidates: topology diffs and learned-state changes.

The tags match what the simulation attaches (see docs/services.md, "Tags"): a flow carries
a tag for every object or table entry whose change could alter its result.
"""

from __future__ import annotations

from collections.abc import Mapping

from services.simulation.result import Tag
from services.topology.base import TopologyObject
from services.topology.port import Port
from services.topology.route import Route
from services.topology.rule import Rule
from services.topology.snapshot import Topology


def mac_entry_tags(bridge_id: str, mac: int) -> set[Tag]:
    """Tags of a learned MAC entry (any VLAN) changing."""
    return {("mac", bridge_id, mac)}


def arp_entry_tags(router_id: str, ip: int) -> set[Tag]:
    """Tags of a router's ARP entry changing."""
    return {("arp", router_id, ip)}


def topology_tags(old: Topology, new: Topology) -> set[Tag]:
    """Tags to invalidate when the snapshot goes from `old` to `new`."""
    tags: set[Tag] = set()
    _simple(tags, "bridge", old.bridges, new.bridges)
    _simple(tags, "router", old.routers, new.routers)
    _simple(tags, "chain", old.chains, new.chains)
    _simple(tags, "port_group", old.port_groups, new.port_groups)
    _simple(tags, "ip_address_group", old.ip_address_groups, new.ip_address_groups)
    for pid in old.ports.keys() | new.ports.keys():
        a, b = old.ports.get(pid), new.ports.get(pid)
        if a != b or old.tunnel_keys.get(pid) != new.tunnel_keys.get(pid):
            tags.add(("port", pid))
            for topo, port in ((old, a), (new, b)):
                if port is not None:
                    _port_tags(tags, topo, port)
            if a is not None and b is not None:
                tags.update(
                    ("port_group", g) for g in set(a.port_group_ids) ^ set(b.port_group_ids)
                )
            elif a is not None or b is not None:
                p = a or b
                assert p is not None
                tags.update(("port_group", g) for g in p.port_group_ids)
    for rid in old.routes.keys() | new.routes.keys():
        ra, rb = old.routes.get(rid), new.routes.get(rid)
        if ra != rb:
            tags.add(("route", rid))
            if ra is None or rb is None or _route_place(ra) != _route_place(rb):
                tags.update(("routes", r.router_id) for r in (ra, rb) if r is not None)
    for uid in old.rules.keys() | new.rules.keys():
        ua, ub = old.rules.get(uid), new.rules.get(uid)
        if ua != ub:
            tags.add(("rule", uid))
            if ua is None or ub is None or _rule_place(ua) != _rule_place(ub):
                tags.update(("chain", r.chain_id) for r in (ua, ub) if r is not None)
    return tags


def _simple(
    tags: set[Tag],
    kind: str,
    old: Mapping[str, TopologyObject],
    new: Mapping[str, TopologyObject],
) -> None:
    for oid in old.keys() | new.keys():
        if old.get(oid) != new.get(oid):
            tags.add((kind, oid))


def _port_tags(tags: set[Tag], topo: Topology, port: Port) -> None:
    """What a port contributes to its device's (and linked bridge's) lookups."""
    dev = port.device_id
    if dev in topo.bridges:
        tags.add(("flood", dev))
        tags.add(("mac", dev, port.mac))
        tags.update(("ip", dev, ip) for ip in port.addresses)
    elif dev in topo.routers:
        tags.add(("router", dev))
        tags.add(("routes", dev))
        peer = topo.ports.get(port.peer_id) if port.peer_id else None
        if peer is not None and peer.device_id in topo.bridges:
            tags.add(("mac", peer.device_id, port.mac))
            if port.address is not None:
                tags.add(("ip", peer.device_id, port.address.addr))


def _route_place(r: Route) -> tuple[object, ...]:
    return (r.router_id, r.dst.network, r.dst.plen, r.src.network, r.src.plen)


def _rule_place(r: Rule) -> tuple[object, ...]:
    return (r.chain_id, r.position)
