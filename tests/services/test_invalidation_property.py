"""Tag invalidation: after any change, every cached result that was not invalidated still
equals a fresh simulation (so invalidating exactly the tagged entries is enough). The cache
here is a plain dict; the agent's real one is services/agent/flowtrack.py."""

from __future__ import annotations

import random
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from services.simulation import DictStateView, simulate
from services.simulation.invalidation import arp_entry_tags, mac_entry_tags, topology_tags
from services.simulation.packet import FIELD_NAMES, Packet
from services.simulation.result import SimulationResult, Tag
from tests.services.randtopo import World, random_packet, random_world
from tests.services.scenario import tcp, two_tenants


def _mutate(rng: random.Random, w: World) -> str:
    """Apply one random change to the world; returns a label for failure messages."""
    t = w.b.tables
    choice = rng.choice(["rule", "route", "port", "device", "mac", "arp", "chain", "route_add"])
    if choice == "rule" and t.get("rules"):
        rid = rng.choice(sorted(t["rules"]))
        how = rng.choice(["action", "delete", "position", "cond"])
        if how == "delete":
            w.b.remove("rules", rid)
        elif how == "position":
            w.b.update("rules", rid, position=rng.randint(0, 20))
        elif how == "cond":
            w.b.update("rules", rid, proto=rng.choice(["tcp", "udp", "icmp"]), invert=[])
        elif t["rules"][rid]["action"] != "jump":
            w.b.update("rules", rid, action=rng.choice(["accept", "drop", "reject", "return"]))
        return f"rule {how}"
    if choice == "chain" and w.chains:
        c = rng.choice(w.chains)
        w.b.rule(c, rng.randint(0, 20), rng.choice(["drop", "accept", "reject"]), proto="udp")
        return "rule add"
    if choice == "route" and t.get("routes"):
        rid = rng.choice(sorted(t["routes"]))
        how = rng.choice(["delete", "weight", "type"])
        if how == "delete":
            w.b.remove("routes", rid)
        elif how == "weight":
            w.b.update("routes", rid, weight=rng.randint(1, 300))
        else:
            w.b.update("routes", rid, type="blackhole")
        return f"route {how}"
    if choice == "route_add":
        r = rng.choice(sorted(t["routers"]))
        w.b.route(
            r,
            f"10.{rng.randint(0, 2)}.{rng.randint(0, 1)}.0/{rng.choice([16, 24, 28])}",
            type=rng.choice(["blackhole", "reject"]),
        )
        return "route add"
    if choice == "port":
        pid = rng.choice(sorted(t["ports"]))
        how = rng.choice(["admin", "mac", "host", "delete", "vlan", "addresses"])
        fields: dict[str, Any] = t["ports"][pid]
        if how == "admin":
            w.b.update("ports", pid, admin_state_up=not fields.get("admin_state_up", True))
        elif how == "mac":
            w.b.update("ports", pid, mac=f"02:dd:00:00:00:{rng.randint(0, 9):02x}")
        elif how == "host" and fields.get("binding"):
            w.b.update("ports", pid, binding={"host_id": "h9", "interface": "x"})
        elif how == "delete":
            if fields.get("peer_id"):
                t["ports"][fields["peer_id"]].pop("peer_id", None)
            w.b.remove("ports", pid)
            if pid in w.vm_ports:
                w.vm_ports.remove(pid)
        elif how == "vlan" and not fields.get("address"):
            w.b.update("ports", pid, vlan=rng.choice([None, 10, 20]))
        elif how == "addresses" and not fields.get("address"):
            w.b.update("ports", pid, addresses=[f"10.{rng.randint(0, 2)}.0.{rng.randint(10, 12)}"])
        return f"port {how}"
    if choice == "device":
        kind = rng.choice(["bridges", "routers"])
        did = rng.choice(sorted(t[kind]))
        if w.chains and rng.random() < 0.7:
            w.b.update(kind, did, inbound_chain_id=rng.choice([None, *w.chains]))
        else:
            w.b.update(kind, did, admin_state_up=not t[kind][did].get("admin_state_up", True))
        return f"device {kind}"
    if choice == "mac":
        br = rng.choice(sorted(t["bridges"]))
        vlan = rng.choice([0, 10])
        table = w.macs.setdefault((br, vlan), {})
        mac = rng.choice([*table, 0x02AA00000000 + rng.randint(0, 5)])
        if mac in table and rng.random() < 0.5:
            del table[mac]
        else:
            table[mac] = rng.choice(sorted(t["ports"]))
        return "mac entry"
    r = rng.choice(sorted(t["routers"]))
    arps = w.arps.setdefault(r, {})
    ip = rng.choice([*arps, 0xAC100000 + rng.randint(0, 9)])  # 172.16.0.x
    if ip in arps and rng.random() < 0.5:
        del arps[ip]
    else:
        arps[ip] = 0x02BB00000000 + rng.randint(0, 5)
    return "arp entry"


def _state_tags(old: DictStateView, new: DictStateView) -> set[Tag]:
    tags: set[Tag] = set()
    for key in old.macs.keys() | new.macs.keys():
        a, b = old.macs.get(key, {}), new.macs.get(key, {})
        for mac in a.keys() | b.keys():
            if a.get(mac) != b.get(mac):
                tags |= mac_entry_tags(key[0], mac)
    for r in old.arps.keys() | new.arps.keys():
        a2, b2 = old.arps.get(r, {}), new.arps.get(r, {})
        for ip in a2.keys() | b2.keys():
            if a2.get(ip) != b2.get(ip):
                tags |= arp_entry_tags(r, ip)
    return tags


def _invalidate(cache: dict[int, SimulationResult], tags: set[Tag]) -> set[int]:
    """Drop (and return the keys of) the entries carrying one of the tags."""
    gone = {k for k, r in cache.items() if r.tags & tags}
    for k in gone:
        del cache[k]
    return gone


def _covers(result: SimulationResult, ingress: str, pkt: Packet) -> bool:
    """The packet agrees with the result's wildcarded match (a megaflow hit)."""
    m = result.match
    names = [n for i, n in enumerate(FIELD_NAMES) if m.mask >> i & 1]
    return m.in_port == ingress and tuple(getattr(pkt, n) for n in names) == m.values


@given(st.integers(0, 2**32 - 1))
def test_entries_not_invalidated_are_still_right(seed: int) -> None:
    rng = random.Random(seed)
    w = random_world(seed)
    t1, s1 = w.topo(), w.state()
    cache: dict[int, SimulationResult] = {}
    packets: dict[int, tuple[str, Packet]] = {}
    for k in range(30):
        ingress, pkt = random_packet(rng, w)
        cache[k] = simulate(t1, s1, ingress, pkt)
        packets[k] = (ingress, pkt)
    for _ in range(3):
        label = _mutate(rng, w)
        t2, s2 = w.topo(), w.state()
        tags = topology_tags(t1, t2) | _state_tags(s1, s2)
        gone = _invalidate(cache, tags)
        assert not (gone & cache.keys())
        for key in sorted(cache):
            ingress, pkt = packets[key]
            fresh = simulate(t2, s2, ingress, pkt)
            cached = cache[key]
            assert fresh == cached, f"stale after {label}: {cached.hops} vs {fresh.hops}"
        t1, s1 = t2, s2


def test_invalidation_is_targeted() -> None:
    s = two_tenants()
    t1 = s.topo()
    state = DictStateView()
    gw_a = t1.ports[s["rA-in"]].mac
    east_west = simulate(
        t1, state, s["a1"], tcp(t1, s["a1"], t1.ports[s["a2"]].mac, "10.0.1.11", "10.0.1.12")
    )
    cross = simulate(t1, state, s["a1"], tcp(t1, s["a1"], gw_a, "10.0.1.11", "10.0.2.11"))
    k_ew, k_cross = 0, 1
    cache = {k_ew: east_west, k_cross: cross}
    assert len(cache) == 2
    # a rule change on tenant B's chain touches only the flow that crossed that chain
    s.b.update("rules", s["no-ssh"], dst_port=[23, 23])
    t2 = s.topo()
    assert _invalidate(cache, set(topology_tags(t1, t2))) == {k_cross}
    assert cache.keys() == {k_ew}
    assert _covers(
        east_west,
        s["a1"],
        tcp(t1, s["a1"], t1.ports[s["a2"]].mac, "10.0.1.11", "10.0.1.12", dst_port=9),
    )
    # an unrelated MAC entry leaves the cache alone; the destination's MAC does not
    assert _invalidate(cache, set(mac_entry_tags(s["bB"], 0x02FFFFFFFFFF))) == set()
    assert _invalidate(cache, set(mac_entry_tags(s["bA"], t1.ports[s["a2"]].mac))) == {k_ew}
