"""Random multi-tenant topologies, states, packets and changes for property tests.

Driven by a `random.Random` seeded by hypothesis, so failures reproduce from the seed.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from services.simulation.packet import ARP_REQUEST, ETH_ARP, Packet
from services.simulation.state import DictStateView
from services.topology.addr import BROADCAST_MAC, parse_ip, parse_mac
from services.topology.builder import TopologyBuilder
from services.topology.snapshot import Topology


@dataclass
class World:
    """A random topology (as builder tables) and the learned state beside it."""

    b: TopologyBuilder
    vm_ports: list[str] = field(default_factory=list)
    chains: list[str] = field(default_factory=list)
    macs: dict[tuple[str, int], dict[int, str]] = field(default_factory=dict)
    arps: dict[str, dict[int, int]] = field(default_factory=dict)

    def topo(self) -> Topology:
        return self.b.build()

    def state(self) -> DictStateView:
        return DictStateView(
            {k: dict(v) for k, v in self.macs.items()}, {k: dict(v) for k, v in self.arps.items()}
        )

    @property
    def ports(self) -> dict[str, dict[str, Any]]:
        return self.b.tables.get("ports", {})


def _rand_rule(rng: random.Random, w: World, chain: str, tenant_chains: list[str]) -> None:
    cond: dict[str, Any] = {}
    ports = list(w.ports)
    picks = rng.sample(
        [
            "proto",
            "dst_port",
            "ip_src",
            "ip_dst",
            "in_port_ids",
            "eth_src",
            "icmp_type",
            "ethertype",
        ],
        rng.randint(0, 2),
    )
    for name in picks:
        if name == "proto":
            cond["proto"] = rng.choice(["tcp", "udp", "icmp"])
        elif name == "dst_port":
            lo = rng.randint(0, 100)
            cond["dst_port"] = [lo, lo + rng.randint(0, 50)]
        elif name in ("ip_src", "ip_dst"):
            cond[name] = f"10.{rng.randint(0, 2)}.0.0/{rng.choice([8, 16, 24])}"
        elif name == "in_port_ids":
            cond["in_port_ids"] = rng.sample(ports, min(2, len(ports)))
        elif name == "eth_src":
            cond["eth_src"] = w.ports[rng.choice(ports)]["mac"]
        elif name == "icmp_type":
            cond["icmp_type"] = rng.choice([0, 8])
        else:
            cond["ethertype"] = rng.choice([0x0800, 0x0806])
    if cond and rng.random() < 0.2:
        cond["invert"] = [rng.choice(sorted(cond))]
    action = rng.choice(["accept", "drop", "reject", "continue", "return", "jump", "accept"])
    if action == "jump":
        cond["jump_chain_id"] = rng.choice(tenant_chains)
    w.b.rule(chain, rng.randint(0, 20), action, **cond)


def random_world(seed: int, cross_tenant_routes: bool = True) -> World:
    """2-3 tenants with bridges, VMs, a router each; a provider router; chains and rules."""
    rng = random.Random(seed)
    b = TopologyBuilder(f"rand{seed}")
    w = World(b)
    provider = b.router("provider")
    tenants = [f"T{i}" for i in range(rng.randint(2, 3))]
    bridges: dict[str, list[str]] = {}
    routers: dict[str, str] = {}
    for ti, t in enumerate(tenants):
        r = routers[t] = b.router(t)
        bridges[t] = []
        for bi in range(rng.randint(1, 2)):
            br = b.bridge(t)
            bridges[t].append(br)
            for n in range(rng.randint(1, 3)):
                kw: dict[str, Any] = {}
                if rng.random() < 0.15:
                    kw["vlan"] = rng.choice([10, 20])
                host = rng.choice(["h1", "h2", "h3"])
                # Tenants reuse address plans on purpose: isolation may not rest on IPs.
                net = ti if rng.random() < 0.7 else 0
                w.vm_ports.append(b.vm_port(br, host, f"10.{net}.{bi}.{10 + n}", **kw))
            b.attach(r, br, f"10.{ti}.{bi}.1/24")
        if cross_tenant_routes and rng.random() < 0.8:
            up = b.port(r, address=f"172.16.{ti}.2/30")
            pp = b.port(provider, address=f"172.16.{ti}.1/30")
            b.link(up, pp)
            if rng.random() < 0.8:
                b.route(r, "0.0.0.0/0", next_hop_port=up, next_hop_gw=f"172.16.{ti}.1")
            if rng.random() < 0.8:
                b.route(provider, f"10.{ti}.0.0/16", next_hop_port=pp, next_hop_gw=f"172.16.{ti}.2")
            if rng.random() < 0.3:  # ECMP duplicate
                b.route(provider, f"10.{ti}.0.0/16", next_hop_port=pp, next_hop_gw=f"172.16.{ti}.2")
        if rng.random() < 0.3:
            b.route(r, f"10.{rng.randint(0, 2)}.9.0/24", type=rng.choice(["blackhole", "reject"]))
        chains = [b.chain(t) for _ in range(rng.randint(0, 3))]
        w.chains += chains
        for c in chains:
            for _ in range(rng.randint(1, 4)):
                _rand_rule(rng, w, c, chains)
        targets = [*bridges[t], r]
        tenant_ports = [p for p, f in w.ports.items() if f["tenant_id"] == t]
        for c in chains:
            if rng.random() < 0.5:
                b.update(
                    "bridges" if (d := rng.choice(targets)) != r else "routers",
                    d,
                    **{rng.choice(["inbound_chain_id", "outbound_chain_id"]): c},
                )
            if rng.random() < 0.5 and tenant_ports:
                b.update(
                    "ports",
                    rng.choice(tenant_ports),
                    **{rng.choice(["inbound_chain_id", "outbound_chain_id"]): c},
                )
    # Attempts to join tenants at L2 (refused by the snapshot) and a foreign router link.
    if rng.random() < 0.5:
        t1, t2 = rng.sample(tenants, 2)
        b.link(b.port(bridges[t1][0]), b.port(bridges[t2][0]))
    if cross_tenant_routes and rng.random() < 0.3:
        t1, t2 = rng.sample(tenants, 2)
        b.attach(routers[t1], bridges[t2][0], f"10.{tenants.index(t2)}.0.254/24")
    # Learned state, including entries that point across tenants (must be ignored).
    all_ports = list(w.ports)
    for br_list in bridges.values():
        for br in br_list:
            for _ in range(rng.randint(0, 3)):
                mac = rng.choice(
                    [0x02AA00000000 + rng.randint(0, 5), _mac(w, rng.choice(all_ports))]
                )
                w.macs.setdefault((br, rng.choice([0, 10])), {})[mac] = rng.choice(all_ports)
    for r in [*routers.values(), provider]:
        for _ in range(rng.randint(0, 2)):
            ip = parse_ip(f"172.16.{rng.randint(0, 2)}.{rng.randint(0, 3)}")
            w.arps.setdefault(r, {})[ip] = 0x02BB00000000 + rng.randint(0, 5)
    return w


def _mac(w: World, port: str) -> int:
    return parse_mac(w.ports[port]["mac"])


def random_packet(rng: random.Random, w: World) -> tuple[str, Packet]:
    """An ingress VM port and a packet from it, aimed at anything in the world."""
    src = rng.choice(w.vm_ports)
    eth_src = _mac(w, src) if rng.random() < 0.8 else 0x02AA00000000 + rng.randint(0, 5)
    any_port = rng.choice(list(w.ports))
    eth_dst = rng.choice([_mac(w, any_port), BROADCAST_MAC, 0x02AA00000000 + rng.randint(0, 5)])
    addrs = [a for f in w.ports.values() for a in f.get("addresses", [])]
    addrs += [f["address"].split("/")[0] for f in w.ports.values() if f.get("address")]
    ip_dst = parse_ip(rng.choice([*addrs, "8.8.8.8", "10.1.9.9", "172.16.0.1"]))
    ip_src = parse_ip(rng.choice(w.ports[src].get("addresses") or ["10.0.0.99"]))
    if rng.random() < 0.15:
        return src, Packet(
            eth_src=eth_src,
            eth_dst=BROADCAST_MAC,
            ethertype=ETH_ARP,
            arp_op=ARP_REQUEST,
            arp_sha=eth_src,
            arp_spa=ip_src,
            arp_tha=0,
            arp_tpa=ip_dst,
        )
    proto = rng.choice([1, 6, 17])
    l4: dict[str, int] = (
        {"icmp_type": rng.choice([0, 3, 8]), "icmp_code": 0}
        if proto == 1
        else {"src_port": rng.randint(1, 200), "dst_port": rng.randint(1, 200)}
    )
    return src, Packet(
        eth_src=eth_src,
        eth_dst=eth_dst,
        vlan=rng.choice([None, None, 10]),
        ip_src=ip_src,
        ip_dst=ip_dst,
        proto=proto,
        ttl=rng.randint(1, 6),
        fragment=rng.choice(["no", "no", "first", "later"]),
        **l4,
    )


def vary_unmasked(rng: random.Random, pkt: Packet, mask: int) -> Packet:
    """A packet equal to `pkt` on the masked fields, random elsewhere."""
    from services.simulation.packet import FIELD_NAMES

    changes: dict[str, Any] = {}
    for i, name in enumerate(Packet._fields):
        assert name == FIELD_NAMES[i]
        if mask >> i & 1:
            continue
        if name == "fragment":
            changes[name] = rng.choice(["no", "first", "later"])
        elif name in ("eth_src", "eth_dst", "arp_sha", "arp_tha"):
            changes[name] = rng.choice([0x02CC00000000 + rng.randint(0, 9), BROADCAST_MAC])
        elif name == "ethertype":
            changes[name] = rng.choice([0x0800, 0x0806, 0x86DD])
        elif name == "vlan":
            changes[name] = rng.choice([None, 10, 20])
        else:
            changes[name] = rng.choice([None, 0, 1, 8, 22, rng.randint(0, 255)])
    return pkt._replace(**changes)
