"""`Topology`: an immutable snapshot of every object, with the indexes the simulation needs.

Built from plain dicts `{kind: {id: {field: value}}}`, which is what the replicated
ORMap(ORMap(LWWRegister)) tables yield. Replicated state can be inconsistent for a while
(concurrent deletes, dangling references), so building never fails: an invalid object is
left out and recorded in `errors`; an object without its `id` field is a deleted one (see
docs/services.md, "Merge semantics") and is skipped silently.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from services.topology import tunnel_keys
from services.topology.addr import Cidr
from services.topology.base import TopologyObject
from services.topology.devices import Bridge, Router
from services.topology.errors import ValidationError
from services.topology.groups import IpAddressGroup, PortGroup
from services.topology.lpm import RouteEntry, RouteTable
from services.topology.model import KINDS
from services.topology.port import Port
from services.topology.route import Route
from services.topology.rule import Chain, Rule

Tables = Mapping[str, Mapping[str, Mapping[str, Any]]]


@dataclass(frozen=True, slots=True)
class TopologyError:
    """Why an object (or a link) was left out of the snapshot."""

    kind: str
    id: str
    field: str
    message: str


class Topology:
    """Read-only snapshot of the virtual topology plus precomputed indexes.

    `memo` is a per-snapshot cache for data derived lazily by the simulation (compiled
    chains); it never changes what the snapshot means.
    """

    __slots__ = (
        "bridge_ips",
        "bridges",
        "chains",
        "errors",
        "ip_address_groups",
        "memo",
        "port_by_tunnel_key",
        "port_group_members",
        "port_groups",
        "ports",
        "ports_by_device",
        "route_tables",
        "router_addrs",
        "routers",
        "routes",
        "rules",
        "rules_by_chain",
        "static_macs",
        "tunnel_keys",
    )

    def __init__(self, objects: Iterable[TopologyObject] = ()) -> None:
        self.errors: list[TopologyError] = []
        self.memo: dict[Any, Any] = {}
        self.bridges: dict[str, Bridge] = {}
        self.routers: dict[str, Router] = {}
        self.ports: dict[str, Port] = {}
        self.routes: dict[str, Route] = {}
        self.chains: dict[str, Chain] = {}
        self.rules: dict[str, Rule] = {}
        self.port_groups: dict[str, PortGroup] = {}
        self.ip_address_groups: dict[str, IpAddressGroup] = {}
        raw: dict[str, TopologyObject] = {}
        for obj in objects:
            raw[obj.id] = obj
        self._build(sorted(raw.values(), key=lambda o: o.id))

    # ------------------------------------------------------------------ construction

    @classmethod
    def from_tables(cls, tables: Tables) -> Topology:
        """Build from `{kind: {id: {field: value}}}`; invalid objects land in `errors`."""
        objects: list[TopologyObject] = []
        errors: list[TopologyError] = []
        for kind, table in tables.items():
            model = KINDS.get(kind)
            if model is None:
                errors.append(TopologyError(kind, "", "", "unknown kind"))
                continue
            for oid, fields in table.items():
                if not isinstance(fields, Mapping) or "id" not in fields:
                    continue  # deleted (remove-wins): leftovers of concurrent updates
                if fields["id"] != oid:
                    errors.append(TopologyError(kind, str(oid), "id", "does not match key"))
                    continue
                try:
                    objects.append(model.from_dict(fields))
                except ValidationError as e:
                    errors.append(TopologyError(kind, str(oid), e.field, e.message))
        topo = cls(objects)
        topo.errors[:0] = errors
        return topo

    def to_tables(self) -> dict[str, dict[str, dict[str, Any]]]:
        """Plain data of every object that made it into the snapshot."""
        out: dict[str, dict[str, dict[str, Any]]] = {}
        for kind in KINDS:
            objs: dict[str, Any] = getattr(self, kind)
            out[kind] = {oid: o.to_dict() for oid, o in objs.items()}
        return out

    def _error(self, obj: TopologyObject, field: str, message: str) -> None:
        self.errors.append(TopologyError(obj.KIND, obj.id, field, message))

    def _build(self, objects: list[TopologyObject]) -> None:
        by_kind: dict[type, dict[str, TopologyObject]] = {}
        for obj in objects:
            by_kind.setdefault(type(obj), {})[obj.id] = obj
        self.bridges = by_kind.get(Bridge, {})  # type: ignore[assignment]
        self.routers = by_kind.get(Router, {})  # type: ignore[assignment]
        self.chains = by_kind.get(Chain, {})  # type: ignore[assignment]
        self.port_groups = by_kind.get(PortGroup, {})  # type: ignore[assignment]
        self.ip_address_groups = by_kind.get(IpAddressGroup, {})  # type: ignore[assignment]
        self._build_ports(by_kind.get(Port, {}))  # type: ignore[arg-type]
        self._build_routes(by_kind.get(Route, {}))  # type: ignore[arg-type]
        self._build_rules(by_kind.get(Rule, {}))  # type: ignore[arg-type]

    def _build_ports(self, ports: dict[str, Port]) -> None:
        for port in ports.values():
            device = self.bridges.get(port.device_id) or self.routers.get(port.device_id)
            if device is None:
                self._error(port, "device_id", "no such bridge or router")
            elif device.tenant_id != port.tenant_id:
                self._error(port, "tenant_id", "differs from its device's tenant")
            elif isinstance(device, Bridge) and port.address is not None:
                self._error(port, "address", "only router ports have an address")
            elif isinstance(device, Router) and (port.addresses or port.vlan is not None):
                field = "addresses" if port.addresses else "vlan"
                self._error(port, field, "only bridge ports have this field")
            else:
                self.ports[port.id] = port
        # Interior links must be mutual and may not join two bridges of different tenants.
        for pid, port in list(self.ports.items()):
            if port.peer_id is None:
                continue
            peer = self.ports.get(port.peer_id)
            ok = peer is not None and peer.peer_id == pid
            if ok and peer is not None:
                both_bridges = port.device_id in self.bridges and peer.device_id in self.bridges
                if both_bridges and port.tenant_id != peer.tenant_id:
                    self._error(port, "peer_id", "bridges of different tenants cannot be linked")
                    ok = False
            elif not ok:
                self._error(port, "peer_id", "peer missing or not linked back")
            if not ok:
                self.ports[pid] = _unlinked(port)
        by_device: dict[str, list[Port]] = {}
        for port in self.ports.values():
            by_device.setdefault(port.device_id, []).append(port)
        self.ports_by_device: dict[str, tuple[Port, ...]] = {
            d: tuple(sorted(ps, key=lambda p: p.id)) for d, ps in by_device.items()
        }
        self.static_macs: dict[tuple[str, int], str] = {}
        self.bridge_ips: dict[tuple[str, int], tuple[int, str]] = {}
        self.router_addrs: dict[str, dict[int, Port]] = {}
        self.port_group_members: dict[str, frozenset[str]] = {}
        members: dict[str, set[str]] = {}
        for port in sorted(self.ports.values(), key=lambda p: p.id):
            for gid in port.port_group_ids:
                members.setdefault(gid, set()).add(port.id)
            if port.device_id in self.bridges:
                self.static_macs.setdefault((port.device_id, port.mac), port.id)
                for ip in port.addresses:
                    self.bridge_ips.setdefault((port.device_id, ip), (port.mac, port.id))
            if port.device_id in self.routers and port.address is not None:
                self.router_addrs.setdefault(port.device_id, {})[port.address.addr] = port
                peer = self.ports.get(port.peer_id) if port.peer_id else None
                if peer is not None and peer.device_id in self.bridges:
                    key = (peer.device_id, port.address.addr)
                    self.bridge_ips.setdefault(key, (port.mac, peer.id))
            if port.device_id in self.routers and port.peer_id is not None:
                # A router's MAC is a static entry on the bridge it is linked to.
                peer = self.ports.get(port.peer_id)
                if peer is not None and peer.device_id in self.bridges:
                    self.static_macs.setdefault((peer.device_id, port.mac), peer.id)
        self.port_group_members = {g: frozenset(m) for g, m in members.items()}
        self.tunnel_keys: dict[str, int] = tunnel_keys.allocate(self.ports)
        self.port_by_tunnel_key: dict[int, str] = {k: p for p, k in self.tunnel_keys.items()}

    def _build_routes(self, routes: dict[str, Route]) -> None:
        entries: dict[str, list[RouteEntry]] = {rid: [] for rid in self.routers}
        for route in routes.values():
            if route.router_id not in self.routers:
                self._error(route, "router_id", "no such router")
                continue
            if route.next_hop_port is not None:
                port = self.ports.get(route.next_hop_port)
                if port is None or port.device_id != route.router_id:
                    self._error(route, "next_hop_port", "not a port of this router")
                    continue
            self.routes[route.id] = route
            entries[route.router_id].append(
                RouteEntry(
                    route.id,
                    route.type,
                    Cidr(route.dst.network, route.dst.plen),
                    Cidr(route.src.network, route.src.plen),
                    route.next_hop_port,
                    route.next_hop_gw,
                    route.weight,
                    ("route", route.id),
                )
            )
        any_src = Cidr(0, 0)
        for rid, addrs in self.router_addrs.items():
            for ip, port in addrs.items():
                if not port.admin_state_up or port.address is None:
                    continue
                tag = ("port", port.id)
                entries[rid].append(
                    RouteEntry(None, "local", Cidr(ip, 32), any_src, port.id, None, 1, tag)
                )
                net = Cidr(port.address.network, port.address.plen)
                entries[rid].append(
                    RouteEntry(None, "normal", net, any_src, port.id, None, 100, tag)
                )
        self.route_tables: dict[str, RouteTable] = {
            rid: RouteTable(es) for rid, es in entries.items()
        }

    def _build_rules(self, rules: dict[str, Rule]) -> None:
        by_chain: dict[str, list[Rule]] = {}
        for rule in rules.values():
            if rule.chain_id not in self.chains:
                self._error(rule, "chain_id", "no such chain")
                continue
            self.rules[rule.id] = rule
            by_chain.setdefault(rule.chain_id, []).append(rule)
        self.rules_by_chain: dict[str, tuple[Rule, ...]] = {
            c: tuple(sorted(rs, key=lambda r: (r.position, r.id))) for c, rs in by_chain.items()
        }

    # ------------------------------------------------------------------ queries

    def get(self, kind: str, oid: str) -> TopologyObject | None:
        """The object of `kind` (a KINDS key) with id `oid`, or None."""
        table: dict[str, TopologyObject] = getattr(self, kind)
        return table.get(oid)

    def device_kind(self, device_id: str) -> str | None:
        """ "bridge", "router" or None."""
        if device_id in self.bridges:
            return "bridge"
        if device_id in self.routers:
            return "router"
        return None

    def referrers(self, oid: str) -> list[tuple[str, str, str]]:
        """(kind, id, field) of every object that references `oid` (delete -> 409)."""
        out: list[tuple[str, str, str]] = []
        for kind in KINDS:
            table: dict[str, TopologyObject] = getattr(self, kind)
            for obj in table.values():
                for spec in obj.spec():
                    if spec.name == "id":
                        continue
                    value = getattr(obj, spec.name)
                    if value == oid or (isinstance(value, tuple) and oid in value):
                        out.append((kind, obj.id, spec.name))
        return out


def _unlinked(port: Port) -> Port:
    from dataclasses import replace

    return replace(port, peer_id=None)
