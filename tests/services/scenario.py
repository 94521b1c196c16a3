"""Shared test topologies built with TopologyBuilder (plain dicts, like the tables)."""

from __future__ import annotations

from dataclasses import dataclass, field

from services.simulation.packet import ARP_REQUEST, ETH_ARP, PROTO_TCP, Packet
from services.topology.addr import BROADCAST_MAC, parse_ip
from services.topology.builder import TopologyBuilder
from services.topology.snapshot import Topology


@dataclass
class Scenario:
    """A builder plus named object ids."""

    b: TopologyBuilder
    ids: dict[str, str] = field(default_factory=dict)

    def __getitem__(self, name: str) -> str:
        return self.ids[name]

    def topo(self) -> Topology:
        return self.b.build()


def two_tenants() -> Scenario:
    """Tenants A and B: a bridge with two VMs and a router each; a provider router joins them.

    A: 10.0.1.0/24 (a1 on h1, a2 on h2), router rA 10.0.1.1, uplink 172.16.0.2/30.
    B: 10.0.2.0/24 (b1 on h1, b2 on h2), router rB 10.0.2.1, uplink 172.16.0.6/30.
    Provider P: 172.16.0.1/30 to rA, 172.16.0.5/30 to rB, 203.0.113.1/24 exterior on "edge".
    B's bridge inbound chain drops TCP to port 22.
    """
    b = TopologyBuilder("two-tenants")
    s = Scenario(b)
    ids = s.ids
    for t, net in (("A", 1), ("B", 2)):
        ids[f"b{t}"] = b.bridge(t)
        ids[f"r{t}"] = b.router(t)
        ids[f"{t.lower()}1"] = b.vm_port(ids[f"b{t}"], "h1", f"10.0.{net}.11")
        ids[f"{t.lower()}2"] = b.vm_port(ids[f"b{t}"], "h2", f"10.0.{net}.12")
        ids[f"r{t}-in"], ids[f"b{t}-r"] = b.attach(ids[f"r{t}"], ids[f"b{t}"], f"10.0.{net}.1/24")
    ids["P"] = b.router("provider")
    ids["rA-up"] = b.port(ids["rA"], address="172.16.0.2/30")
    ids["rB-up"] = b.port(ids["rB"], address="172.16.0.6/30")
    ids["P-a"] = b.port(ids["P"], address="172.16.0.1/30")
    ids["P-b"] = b.port(ids["P"], address="172.16.0.5/30")
    ids["P-ext"] = b.port(
        ids["P"], address="203.0.113.1/24", binding={"host_id": "edge", "interface": "eth1"}
    )
    b.link(ids["rA-up"], ids["P-a"])
    b.link(ids["rB-up"], ids["P-b"])
    b.route(ids["rA"], "0.0.0.0/0", next_hop_port=ids["rA-up"], next_hop_gw="172.16.0.1")
    b.route(ids["rB"], "0.0.0.0/0", next_hop_port=ids["rB-up"], next_hop_gw="172.16.0.5")
    b.route(ids["P"], "10.0.1.0/24", next_hop_port=ids["P-a"], next_hop_gw="172.16.0.2")
    b.route(ids["P"], "10.0.2.0/24", next_hop_port=ids["P-b"], next_hop_gw="172.16.0.6")
    ids["P-default"] = b.route(
        ids["P"], "0.0.0.0/0", next_hop_port=ids["P-ext"], next_hop_gw="203.0.113.254"
    )
    ids["P-blackhole"] = b.route(ids["P"], "192.168.0.0/16", type="blackhole")
    ids["P-reject"] = b.route(ids["P"], "192.0.2.0/24", type="reject")
    ids["chainB"] = b.chain("B")
    ids["no-ssh"] = b.rule(ids["chainB"], 10, "drop", proto="tcp", dst_port=[22, 22])
    b.update("bridges", ids["bB"], inbound_chain_id=ids["chainB"])
    return s


def ip(text: str) -> int:
    return parse_ip(text)


def tcp(topo: Topology, src_port: str, dst_mac: int, src: str, dst: str, **kw: int) -> Packet:
    """A TCP packet from the VM behind `src_port`."""
    fields: dict[str, int] = {"ttl": 64, "src_port": 40000, "dst_port": 80}
    fields.update(kw)
    return Packet(
        eth_src=topo.ports[src_port].mac,
        eth_dst=dst_mac,
        ip_src=ip(src),
        ip_dst=ip(dst),
        proto=PROTO_TCP,
        ttl=fields["ttl"],
        src_port=fields["src_port"],
        dst_port=fields["dst_port"],
    )


def arp_request(topo: Topology, src_port: str, src: str, target: str) -> Packet:
    """Who-has `target`, from the VM behind `src_port`."""
    mac = topo.ports[src_port].mac
    return Packet(
        eth_src=mac,
        eth_dst=BROADCAST_MAC,
        ethertype=ETH_ARP,
        arp_op=ARP_REQUEST,
        arp_sha=mac,
        arp_spa=ip(src),
        arp_tha=0,
        arp_tpa=ip(target),
    )
