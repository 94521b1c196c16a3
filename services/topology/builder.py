"""A small imperative builder for topologies (tests, benchmarks, examples).

Ids are deterministic UUIDs (uuid5 over a counter), so the same script builds the same
snapshot. It works on plain dicts, exactly what the replicated tables hold.
"""

from __future__ import annotations

import uuid
from typing import Any

from services.topology.snapshot import Topology

_NS = uuid.UUID("5b0d1f4e-0000-4000-8000-00000000a11c")


class TopologyBuilder:
    """Accumulates `{kind: {id: fields}}` and builds a Topology."""

    def __init__(self, seed: str = "") -> None:
        self.tables: dict[str, dict[str, dict[str, Any]]] = {}
        self._seed = seed
        self._n = 0
        self._mac = 0x020000000000

    def new_id(self) -> str:
        """The next deterministic UUID."""
        self._n += 1
        return str(uuid.uuid5(_NS, f"{self._seed}/{self._n}"))

    def next_mac(self) -> str:
        """The next locally administered MAC."""
        self._mac += 1
        raw = f"{self._mac:012x}"
        return ":".join(raw[i : i + 2] for i in range(0, 12, 2))

    def add(self, kind: str, **fields: Any) -> str:
        """Add an object of `kind` (a KINDS key); returns its id."""
        oid = fields.pop("id", None) or self.new_id()
        self.tables.setdefault(kind, {})[oid] = {"id": oid, **fields}
        return oid

    def update(self, kind: str, oid: str, **fields: Any) -> None:
        """Change fields of an existing object."""
        self.tables[kind][oid].update(fields)

    def remove(self, kind: str, oid: str) -> None:
        """Delete an object."""
        del self.tables[kind][oid]

    def bridge(self, tenant: str, **fields: Any) -> str:
        """Add a bridge."""
        return self.add("bridges", tenant_id=tenant, **fields)

    def router(self, tenant: str, **fields: Any) -> str:
        """Add a router."""
        return self.add("routers", tenant_id=tenant, **fields)

    def port(self, device: str, **fields: Any) -> str:
        """Add a port on `device` (tenant taken from the device; MAC generated if absent)."""
        tenant = self._device(device)["tenant_id"]
        fields.setdefault("mac", self.next_mac())
        return self.add("ports", tenant_id=tenant, device_id=device, **fields)

    def vm_port(self, bridge: str, host: str, ip: str | None = None, **fields: Any) -> str:
        """An exterior bridge port bound on `host`, seeded with the VM's IP."""
        n = len(self.tables.get("ports", {}))
        binding = {"host_id": host, "interface": f"tap{n}"}
        addresses = [ip] if ip else []
        return self.port(bridge, binding=binding, addresses=addresses, **fields)

    def link(self, a: str, b: str) -> None:
        """Peer two ports (interior link)."""
        self.tables["ports"][a]["peer_id"] = b
        self.tables["ports"][b]["peer_id"] = a

    def attach(self, router: str, bridge: str, address: str) -> tuple[str, str]:
        """A router port with `address` linked to a new bridge port; returns both ids."""
        rp = self.port(router, address=address)
        bp = self.port(bridge)
        self.link(rp, bp)
        return rp, bp

    def route(self, router: str, dst: str, **fields: Any) -> str:
        """Add a route."""
        tenant = self._device(router)["tenant_id"]
        return self.add("routes", tenant_id=tenant, router_id=router, dst=dst, **fields)

    def chain(self, tenant: str, **fields: Any) -> str:
        """Add a chain."""
        return self.add("chains", tenant_id=tenant, **fields)

    def rule(self, chain: str, position: int, action: str, **fields: Any) -> str:
        """Add a rule to a chain."""
        tenant = self.tables["chains"][chain]["tenant_id"]
        return self.add(
            "rules", tenant_id=tenant, chain_id=chain, position=position, action=action, **fields
        )

    def build(self) -> Topology:
        """The snapshot of what was added so far."""
        return Topology.from_tables(self.tables)

    def _device(self, oid: str) -> dict[str, Any]:
        for kind in ("bridges", "routers"):
            if oid in self.tables.get(kind, {}):
                return self.tables[kind][oid]
        raise KeyError(oid)
