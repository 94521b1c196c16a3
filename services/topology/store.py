"""Topology CRUD over the replicated tables, with validation and referential checks.

Writes are deltas on the node's tables (`services.topology.tables`); reads come from a
Topology snapshot rebuilt lazily after any table change (local or from a peer). No HTTP
here: the API (services/api) and the agent (services/agent) both use one store per node
(services/simulation/readmodel.py).
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Hashable, Mapping
from typing import Any

from crdt import CRDT, ORMap
from mesh.table import TableLike
from services.topology import tables as T
from services.topology.base import TopologyObject
from services.topology.errors import StoreError, ValidationError
from services.topology.model import KINDS
from services.topology.port import Port
from services.topology.route import Route
from services.topology.snapshot import Topology

#: field -> kinds it may reference, per kind (from the declared fields' `refs`)
REFERENCES: dict[str, dict[str, tuple[str, ...]]] = {
    kind: {s.name: s.refs for s in model.spec() if s.refs} for kind, model in KINDS.items()
}
#: field -> why the API refuses to write it (from the declared fields' `read_only`)
READ_ONLY: dict[str, str] = {
    s.name: s.read_only for model in KINDS.values() for s in model.spec() if s.read_only is not None
}


def _map(state: CRDT) -> ORMap:
    """A topology table's state (an ORMap: see tables.py)."""
    if not isinstance(state, ORMap):
        raise TypeError(f"not a topology table: {type(state).__name__}")
    return state


def _random_mac() -> str:
    """A random locally administered unicast MAC (for ports created without one)."""
    value = (random.getrandbits(48) & 0xFEFFFFFFFFFF) | 0x020000000000
    raw = f"{value:012x}"
    return ":".join(raw[i : i + 2] for i in range(0, 12, 2))


class TopologyStore:
    """CRUD for the eight kinds; raises StoreError with the status and the field to blame."""

    def __init__(
        self,
        tables: Mapping[str, TableLike[CRDT]],
        on_write: Callable[[], None] = lambda: None,
        *,
        clock: Callable[[], float],
    ) -> None:
        missing = set(KINDS) - set(tables)
        if missing:
            raise ValueError(f"missing tables for {sorted(missing)}")
        self._tables = tables
        self._on_write = on_write
        self._clock = clock  # the node's clock: writes are stamped with it
        self._snapshot: Topology | None = None
        for table in tables.values():
            table.subscribe(self._changed)

    def _changed(self, keys: frozenset[Hashable]) -> None:
        self._snapshot = None

    def topology(self) -> Topology:
        """The current snapshot (rebuilt after any change)."""
        if self._snapshot is None:
            self._snapshot = Topology.from_tables(
                {kind: T.objects(_map(self._tables[kind].state)) for kind in KINDS}
            )
        return self._snapshot

    # ------------------------------------------------------------------ reads

    def _kind(self, kind: str) -> type[TopologyObject]:
        model = KINDS.get(kind)
        if model is None:
            raise StoreError(404, f"no such collection {kind!r}")
        return model

    def view(self, kind: str, obj: TopologyObject) -> dict[str, Any]:
        """API form of an object (ports also show their tunnel key)."""
        out = obj.to_dict()
        if kind == "ports":
            out["tunnel_key"] = self.topology().tunnel_keys.get(obj.id)
        return out

    def list(self, kind: str) -> list[dict[str, Any]]:
        """Every object of a kind, by id."""
        self._kind(kind)
        objs: dict[str, TopologyObject] = getattr(self.topology(), kind)
        return [self.view(kind, objs[k]) for k in sorted(objs)]

    def _get(self, kind: str, oid: str) -> TopologyObject:
        self._kind(kind)
        obj = self.topology().get(kind, oid)
        if obj is None:
            raise StoreError(404, f"no {kind[:-1]} {oid}")
        return obj

    def get(self, kind: str, oid: str) -> dict[str, Any]:
        """One object (404 if absent)."""
        return self.view(kind, self._get(kind, oid))

    # ------------------------------------------------------------------ writes

    def _write(self, kind: str, fn: Callable[[ORMap, str], ORMap]) -> None:
        table = self._tables[kind]
        rid = table.replica_id
        table.mutate(lambda s: fn(_map(s), rid), now=self._clock())
        self._snapshot = None
        self._on_write()

    def _parse(self, kind: str, data: dict[str, Any]) -> TopologyObject:
        try:
            return self._kind(kind).from_dict(data)
        except ValidationError as e:
            raise StoreError(400, e.message, e.field) from None

    def _body(self, body: object) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise StoreError(400, "expected a JSON object", "body")
        for key, why in READ_ONLY.items():
            if key in body:
                raise StoreError(400, why, key)
        return dict(body)

    def create(self, kind: str, body: object) -> dict[str, Any]:
        """Validate and create; returns the object with its new id."""
        data = self._body(body)
        self._kind(kind)
        data["id"] = str(uuid.uuid4())
        if kind == "ports" and "mac" not in data:
            data["mac"] = _random_mac()
        obj = self._parse(kind, data)
        self._check(kind, obj)
        dumped = obj.to_dict()
        self._write(kind, lambda s, rid: T.create(s, rid, dumped))
        return self.view(kind, obj)

    def patch(self, kind: str, oid: str, body: object) -> dict[str, Any]:
        """Change some fields; only the changed ones are written (per-field LWW)."""
        data = self._body(body)
        current = self._get(kind, oid).to_dict()
        obj = self._parse(kind, {**current, **data})
        self._check(kind, obj)
        new = obj.to_dict()
        changed = {k: v for k, v in new.items() if current.get(k) != v}
        if changed:
            self._write(kind, lambda s, rid: T.update(s, rid, oid, changed))
        return self.view(kind, obj)

    def delete(self, kind: str, oid: str) -> None:
        """Delete; 409 while other objects reference it."""
        self._get(kind, oid)
        users = [r for r in self.topology().referrers(oid) if r[1] != oid]
        if users:
            names = ", ".join(f"{k[:-1]} {i} ({f})" for k, i, f in users[:5])
            raise StoreError(409, f"still referenced by {names}")
        self._write(kind, lambda s, rid: T.delete(s, rid, oid))

    def link(self, port_id: str, peer_id: object) -> dict[str, Any]:
        """Link two unbound, unlinked ports of different devices (an interior link)."""
        port = self._get("ports", port_id)
        if not isinstance(peer_id, str):
            raise StoreError(400, "expected a port id", "peer_id")
        try:
            peer_id = str(uuid.UUID(peer_id))
        except ValueError:
            raise StoreError(400, f"malformed UUID {peer_id!r}", "peer_id") from None
        peer = self.topology().ports.get(peer_id)
        if peer is None:
            raise StoreError(404, f"no port {peer_id}", "peer_id")
        assert isinstance(port, Port)
        if peer.id == port.id or peer.device_id == port.device_id:
            raise StoreError(400, "cannot link two ports of one device", "peer_id")
        for p in (port, peer):
            if p.peer_id is not None:
                raise StoreError(409, f"port {p.id} is already linked", "peer_id")
            if p.binding is not None:
                raise StoreError(400, f"port {p.id} is bound to a host interface", "binding")
        topo = self.topology()
        if (
            port.device_id in topo.bridges
            and peer.device_id in topo.bridges
            and port.tenant_id != peer.tenant_id
        ):
            raise StoreError(400, "bridges of different tenants cannot be linked", "peer_id")
        self._write("ports", lambda s, rid: T.update(s, rid, port.id, {"peer_id": peer.id}))
        self._write("ports", lambda s, rid: T.update(s, rid, peer.id, {"peer_id": port.id}))
        return self.get("ports", port.id)

    def unlink(self, port_id: str) -> dict[str, Any]:
        """Remove a port's interior link (both sides)."""
        port = self._get("ports", port_id)
        assert isinstance(port, Port)
        if port.peer_id is None:
            raise StoreError(409, "port is not linked", "peer_id")
        peer_id = port.peer_id
        self._write("ports", lambda s, rid: T.update(s, rid, port.id, {"peer_id": None}))
        if self.topology().ports.get(peer_id) is not None:
            self._write("ports", lambda s, rid: T.update(s, rid, peer_id, {"peer_id": None}))
        return self.get("ports", port.id)

    # ------------------------------------------------------------------ checks

    def _check(self, kind: str, obj: TopologyObject) -> None:
        """Dangling references -> 404 naming the field; inconsistent ones -> 400."""
        topo = self.topology()
        for field, kinds in REFERENCES[kind].items():
            value: object = getattr(obj, field)
            ids = value if isinstance(value, tuple) else (value,)
            for ref in ids:
                if isinstance(ref, str) and not any(topo.get(k, ref) is not None for k in kinds):
                    raise StoreError(404, f"no {' or '.join(k[:-1] for k in kinds)} {ref}", field)
        if isinstance(obj, Port):
            device = topo.bridges.get(obj.device_id) or topo.routers.get(obj.device_id)
            assert device is not None
            if device.tenant_id != obj.tenant_id:
                raise StoreError(400, "must equal the device's tenant", "tenant_id")
            on_bridge = obj.device_id in topo.bridges
            if on_bridge and obj.address is not None:
                raise StoreError(400, "only router ports have an address", "address")
            if not on_bridge and obj.addresses:
                raise StoreError(400, "only bridge ports have addresses", "addresses")
            if not on_bridge and obj.vlan is not None:
                raise StoreError(400, "only bridge ports have a vlan", "vlan")
            if obj.peer_id is not None and obj.binding is not None:
                raise StoreError(400, "a linked port cannot be bound", "binding")
        if isinstance(obj, Route) and obj.next_hop_port is not None:
            port = topo.ports.get(obj.next_hop_port)
            if port is None or port.device_id != obj.router_id:
                raise StoreError(400, "not a port of this router", "next_hop_port")
