"""Bridge: static and learned MACs, flooding, VLANs, same-port drop, admin state."""

from __future__ import annotations

from typing import Any

from services.simulation import Decision, DictStateView, MacLearned, simulate
from services.simulation.packet import Packet
from services.topology.builder import TopologyBuilder

M1, M2, M3 = 0x020000000001, 0x020000000002, 0x020000000003
STRANGER = 0x02AA00000001


def _bridge(**port_kw: dict[str, Any]) -> tuple[TopologyBuilder, str, list[str]]:
    b = TopologyBuilder("bridge")
    br = b.bridge("t")
    ports = [
        b.vm_port(br, f"h{i}", mac=f"02:00:00:00:00:0{i}", **port_kw.get(f"p{i}", {}))
        for i in (1, 2, 3)
    ]
    return b, br, ports


def test_static_mac_unicast_to_one_port() -> None:
    b, br, (p1, p2, _) = _bridge()
    r = simulate(b.build(), DictStateView(), p1, Packet(eth_src=M1, eth_dst=M2))
    assert r.decision is Decision.FORWARD and r.egress_ports == (p2,)
    assert ("mac", br, M2) in r.tags and ("flood", br) not in r.tags


def test_broadcast_and_unknown_unicast_flood_to_all_other_ports() -> None:
    b, br, (p1, p2, p3) = _bridge()
    t = b.build()
    for dst in (0xFFFFFFFFFFFF, 0x010000000001, STRANGER):
        r = simulate(t, DictStateView(), p1, Packet(eth_src=M1, eth_dst=dst))
        assert set(r.egress_ports) == {p2, p3}
        assert ("flood", br) in r.tags


def test_learning_is_returned_not_applied_and_then_used() -> None:
    b, br, (p1, p2, _p3) = _bridge()
    t = b.build()
    state = DictStateView()
    r = simulate(t, state, p2, Packet(eth_src=STRANGER, eth_dst=M1))
    assert r.learned == (MacLearned(br, 0, STRANGER, p2),)
    assert state.mac_port(br, 0, STRANGER) is None  # nothing written in place
    state = state.apply(r.learned)
    r = simulate(t, state, p1, Packet(eth_src=M1, eth_dst=STRANGER))
    assert r.egress_ports == (p2,)
    # already learned on the same port: nothing more to commit
    assert simulate(t, state, p2, Packet(eth_src=STRANGER, eth_dst=M1)).learned == ()


def test_destination_behind_ingress_port_drops() -> None:
    b, br, (p1, _, _) = _bridge()
    state = DictStateView(macs={(br, 0): {STRANGER: p1}})
    r = simulate(b.build(), state, p1, Packet(eth_src=M1, eth_dst=STRANGER))
    assert r.decision is Decision.DROP


def test_stale_learned_entry_floods() -> None:
    b, br, (p1, p2, p3) = _bridge()
    gone = b.new_id()
    state = DictStateView(macs={(br, 0): {STRANGER: gone}})
    r = simulate(b.build(), state, p1, Packet(eth_src=M1, eth_dst=STRANGER))
    assert set(r.egress_ports) == {p2, p3}


def test_vlans_separate_flooding_and_tags() -> None:
    b, _br, (p1, p2, p3) = _bridge(p1={"vlan": 10}, p2={"vlan": 20})
    t = b.build()
    # p1 is an access port of VLAN 10: p2 (VLAN 20) is out, p3 (trunk) gets the tag
    r = simulate(t, DictStateView(), p1, Packet(eth_src=M1, eth_dst=0xFFFFFFFFFFFF))
    assert r.egress_ports == (p3,)
    assert r.packet_out is not None and r.packet_out.vlan == 10
    # from the trunk with tag 20: only p2, untagged
    r = simulate(t, DictStateView(), p3, Packet(eth_src=M3, eth_dst=0xFFFFFFFFFFFF, vlan=20))
    assert r.egress_ports == (p2,)
    assert r.packet_out is not None and r.packet_out.vlan is None
    # unicast into another VLAN drops
    r = simulate(t, DictStateView(), p1, Packet(eth_src=M1, eth_dst=M2))
    assert r.decision is Decision.DROP


def test_admin_down_port_and_bridge_drop() -> None:
    b, br, (p1, p2, _) = _bridge(p2={"admin_state_up": False})
    t = b.build()
    assert (
        simulate(t, DictStateView(), p1, Packet(eth_src=M1, eth_dst=M2)).decision is Decision.DROP
    )
    assert (
        simulate(t, DictStateView(), p2, Packet(eth_src=M2, eth_dst=M1)).decision is Decision.DROP
    )
    b.update("bridges", br, admin_state_up=False)
    r = simulate(b.build(), DictStateView(), p1, Packet(eth_src=M1, eth_dst=M3))
    assert r.decision is Decision.DROP and r.reason == "bridge is down"


def test_unknown_ingress_and_unbound_egress() -> None:
    b, br, (p1, _, _) = _bridge()
    unbound = b.port(br, mac="02:00:00:00:00:09")
    t = b.build()
    r = simulate(t, DictStateView(), b.new_id(), Packet(eth_src=M1, eth_dst=M2))
    assert r.decision is Decision.DROP and r.reason == "unknown ingress port"
    r = simulate(t, DictStateView(), p1, Packet(eth_src=M1, eth_dst=0x020000000009))
    assert r.decision is Decision.DROP and r.reason == "exterior port is not bound"
    assert unbound in [h.device for h in r.hops]


def test_match_ignores_l3_for_l2_forwarding() -> None:
    b, _br, (p1, _p2, _) = _bridge()
    t = b.build()
    pkt = Packet(eth_src=M1, eth_dst=M2, ip_src=1, ip_dst=2, proto=6, src_port=1, dst_port=2)
    r = simulate(t, DictStateView(), p1, pkt)
    r2 = simulate(t, DictStateView(), p1, pkt._replace(ip_dst=99, dst_port=99))
    assert r.match == r2.match


def test_wide_flood_is_not_cut_by_the_hop_bound() -> None:
    """15 devices in all, but no path longer than 2: the 12-device bound is per path."""
    b = TopologyBuilder("wide")
    br = b.bridge("t")
    src = b.vm_port(br, "h1", mac="02:00:00:00:00:01")
    far = []
    for i in range(14):
        leaf = b.bridge("t")
        b.link(b.port(br), b.port(leaf))
        far.append(b.vm_port(leaf, f"h{i}"))
    res = simulate(b.build(), DictStateView(), src, Packet(eth_src=M1, eth_dst=0xFFFFFFFFFFFF))
    assert set(res.egress_ports) == set(far)
    assert "exceeded" not in str(res.hops)


def test_bridge_loop_floods_are_bounded() -> None:
    b = TopologyBuilder("loop")
    bridges = [b.bridge("t") for _ in range(4)]
    for i, x in enumerate(bridges):
        for y in bridges[i + 1 :]:
            b.link(b.port(x), b.port(y))
    src = b.vm_port(bridges[0], "h1", mac="02:00:00:00:00:01")
    r = simulate(b.build(), DictStateView(), src, Packet(eth_src=M1, eth_dst=0xFFFFFFFFFFFF))
    # an L2 loop: copies come back to the sender until the bounds cut every branch
    assert set(r.egress_ports) == {src}
    assert any("exceeded" in (h.reason or "") for h in r.hops)
    assert sum(1 for h in r.hops if h.kind == "bridge") <= 256
