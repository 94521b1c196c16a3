"""The demo's network: tenant A on 10.0.1.0/24 and tenant B on 10.0.2.0/24, one bridge each,
a router between them; VMs placed on hosts as asked. Configured through one agent's API."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from services.demo.netlab import Host, Lab, Vm

TENANTS = {"A": 1, "B": 2}


@dataclass(frozen=True, slots=True)
class VmSpec:
    """A VM: name, tenant (A or B), host name, last octet of its address."""

    name: str
    tenant: str
    host: str
    octet: int

    @property
    def ip(self) -> str:
        return f"10.0.{TENANTS[self.tenant]}.{self.octet}"

    @property
    def mac(self) -> str:
        return f"02:00:00:00:{TENANTS[self.tenant]:02x}:{self.octet:02x}"


@dataclass
class Network:
    """Ids of what was created, by name."""

    ids: dict[str, str] = field(default_factory=dict)
    vms: dict[str, Vm] = field(default_factory=dict)

    def __getitem__(self, name: str) -> str:
        return self.ids[name]


def build(lab: Lab, via: Host, specs: list[VmSpec]) -> Network:
    """Create VMs (namespaces) and the virtual topology through `via`'s API."""
    net = Network()
    ids = net.ids
    ids["router"] = lab.api(via, "POST", "/v1/routers", {"tenant_id": "provider", "name": "r1"})[
        "id"
    ]
    for tenant, n in TENANTS.items():
        ids[f"bridge{tenant}"] = lab.api(
            via, "POST", "/v1/bridges", {"tenant_id": tenant, "name": f"net{tenant}"}
        )["id"]
        rport = lab.api(
            via,
            "POST",
            "/v1/ports",
            {"tenant_id": "provider", "device_id": ids["router"], "address": f"10.0.{n}.1/24"},
        )
        bport = lab.api(
            via, "POST", "/v1/ports", {"tenant_id": tenant, "device_id": ids[f"bridge{tenant}"]}
        )
        lab.api(via, "POST", f"/v1/ports/{rport['id']}/link", {"peer_id": bport["id"]})
        ids[f"router-{tenant}"] = rport["id"]
        lab.api(
            via,
            "POST",
            "/v1/routes",
            {
                "tenant_id": "provider",
                "router_id": ids["router"],
                "dst": f"10.0.{n}.0/24",
                "next_hop_port": rport["id"],
            },
        )
    for s in specs:
        host = lab.hosts[s.host]
        vm = lab.add_vm(s.name, host, s.mac, s.ip, 24, f"10.0.{TENANTS[s.tenant]}.1")
        net.vms[s.name] = vm
        body: dict[str, Any] = {
            "tenant_id": s.tenant,
            "device_id": ids[f"bridge{s.tenant}"],
            "mac": s.mac,
            "addresses": [s.ip],
            "binding": {"host_id": host.name, "interface": vm.interface},
        }
        ids[s.name] = lab.api(via, "POST", "/v1/ports", body)["id"]
    return net


def drop_rule(lab: Lab, via: Host, net: Network, tenant: str, **match: Any) -> str:
    """Attach (once) an inbound chain to the tenant's bridge and add a drop rule to it."""
    key = f"chain{tenant}"
    if key not in net.ids:
        net.ids[key] = lab.api(
            via, "POST", "/v1/chains", {"tenant_id": tenant, "name": f"in-{tenant}"}
        )["id"]
        lab.api(
            via,
            "PATCH",
            f"/v1/bridges/{net.ids[f'bridge{tenant}']}",
            {"inbound_chain_id": net.ids[key]},
        )
    position = sum(1 for k in net.ids if k.startswith(f"rule{tenant}-")) + 1
    rule = lab.api(
        via,
        "POST",
        "/v1/rules",
        {
            "tenant_id": tenant,
            "chain_id": net.ids[key],
            "position": position,
            "action": "drop",
            **match,
        },
    )
    net.ids[f"rule{tenant}-{position}"] = rule["id"]
    return str(rule["id"])
