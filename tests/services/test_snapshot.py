"""Building snapshots from replicated dicts: indexes, inconsistent state, referrers."""

from __future__ import annotations

from services.topology.builder import TopologyBuilder
from services.topology.snapshot import Topology


def test_inconsistent_objects_are_left_out_with_a_reason() -> None:
    b = TopologyBuilder("snap")
    ta, tb = b.bridge("A"), b.bridge("B")
    r = b.router("A")
    pa, pb = b.port(ta), b.port(tb)
    b.link(pa, pb)  # bridges of two tenants: refused
    b.add("ports", tenant_id="A", device_id=b.new_id(), mac="02:00:00:00:01:01")  # no device
    b.add("ports", tenant_id="B", device_id=ta, mac="02:00:00:00:01:02")  # wrong tenant
    b.port(ta, address="10.0.0.1/24")  # address on a bridge port
    one_sided = b.port(r, address="10.0.0.1/24", peer_id=pa)
    b.route(r, "0.0.0.0/0", next_hop_port=pa)  # not a port of the router
    b.add("rules", tenant_id="A", chain_id=b.new_id(), position=1, action="drop")
    b.tables["bridges"]["ghost"] = {"name": "leftover"}  # no id field: deleted
    t = b.build()
    fields = sorted((e.kind, e.field) for e in t.errors)
    assert fields == [
        ("ports", "address"),
        ("ports", "device_id"),
        ("ports", "peer_id"),
        ("ports", "peer_id"),
        ("ports", "peer_id"),
        ("ports", "tenant_id"),
        ("routes", "next_hop_port"),
        ("rules", "chain_id"),
    ]
    assert t.ports[pa].peer_id is None and t.ports[one_sided].peer_id is None
    assert "ghost" not in t.bridges


def test_indexes_and_round_trip() -> None:
    b = TopologyBuilder("idx")
    br = b.bridge("t")
    r = b.router("t")
    vm = b.vm_port(br, "h1", "10.0.0.5")
    rp, bp = b.attach(r, br, "10.0.0.1/24")
    c = b.chain("t")
    second = b.rule(c, 2, "drop")
    first = b.rule(c, 1, "accept")
    g = b.add("port_groups", tenant_id="t")
    b.update("ports", vm, port_group_ids=[g])
    t = b.build()
    assert t.errors == []
    assert [p.id for p in t.ports_by_device[br]] == sorted([vm, bp])
    mac_vm = t.ports[vm].mac
    assert t.static_macs[(br, mac_vm)] == vm
    assert t.static_macs[(br, t.ports[rp].mac)] == bp  # router MAC reachable via its link
    assert t.bridge_ips[(br, 0x0A000005)] == (mac_vm, vm)
    assert t.bridge_ips[(br, 0x0A000001)] == (t.ports[rp].mac, bp)
    assert [x.id for x in t.rules_by_chain[c]] == [first, second]
    assert t.port_group_members[g] == frozenset({vm})
    assert len(t.route_tables[r]) == 2  # local /32 and connected /24
    again = Topology.from_tables(t.to_tables())
    assert again.to_tables() == t.to_tables()
    assert sorted(t.referrers(c)) == sorted(
        [("rules", first, "chain_id"), ("rules", second, "chain_id")]
    )
    assert ("ports", vm, "port_group_ids") in t.referrers(g)
