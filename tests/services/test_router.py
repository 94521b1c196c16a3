"""Router: ECMP by flow hash, source routes, interior next hops, ARP wait bound, 12 hops."""

from __future__ import annotations

from services.simulation import Decision, DictStateView, simulate
from services.simulation.packet import Packet
from services.simulation.router import MAX_ARP_ATTEMPTS, flow_hash
from services.topology.addr import parse_ip
from services.topology.builder import TopologyBuilder


def _router_with_uplinks(n: int) -> tuple[TopologyBuilder, str, str, list[str]]:
    b = TopologyBuilder("ecmp")
    r = b.router("t")
    ingress = b.port(r, address="10.0.0.1/24", binding={"host_id": "h0", "interface": "in"})
    ups = [
        b.port(r, address=f"172.16.{i}.1/24", binding={"host_id": f"h{i}", "interface": "up"})
        for i in range(1, n + 1)
    ]
    return b, r, ingress, ups


def _pkt(b: TopologyBuilder, port: str, dst: str = "8.8.8.8", sport: int = 1000) -> Packet:
    mac = int(b.tables["ports"][port]["mac"].replace(":", ""), 16)
    return Packet(
        eth_src=0x02FF00000001,
        eth_dst=mac,
        ip_src=parse_ip("10.0.0.5"),
        ip_dst=parse_ip(dst),
        proto=17,
        ttl=10,
        src_port=sport,
        dst_port=53,
    )


def test_ecmp_is_deterministic_and_spreads_flows() -> None:
    b, r, ingress, ups = _router_with_uplinks(3)
    for i, up in enumerate(ups, 1):
        b.route(r, "0.0.0.0/0", next_hop_port=up, next_hop_gw=f"172.16.{i}.254")
    t = b.build()
    arps = {r: {parse_ip(f"172.16.{i}.254"): 0x02EE00000000 + i for i in range(1, 4)}}
    state = DictStateView(arps=arps)
    chosen = set()
    for sport in range(1000, 1060):
        pkt = _pkt(b, ingress, sport=sport)
        r1 = simulate(t, state, ingress, pkt)
        assert r1 == simulate(t, state, ingress, pkt)
        assert "src_port" in r1.match.fields()  # the hash read the 5-tuple
        chosen.add(r1.egress_ports)
    assert len(chosen) == 3
    assert flow_hash(_pkt(b, ingress)) == flow_hash(_pkt(b, ingress))


def test_ecmp_weights() -> None:
    b, r, ingress, ups = _router_with_uplinks(2)
    b.route(r, "0.0.0.0/0", next_hop_port=ups[0], next_hop_gw="172.16.1.254", weight=1)
    b.route(r, "0.0.0.0/0", next_hop_port=ups[1], next_hop_gw="172.16.2.254", weight=99)
    t = b.build()
    arps = {r: {parse_ip("172.16.1.254"): 1, parse_ip("172.16.2.254"): 2}}
    counts = {ups[0]: 0, ups[1]: 0}
    for sport in range(2000):
        res = simulate(t, DictStateView(arps=arps), ingress, _pkt(b, ingress, sport=sport))
        counts[res.egress_ports[0]] += 1
    assert counts[ups[1]] > 10 * counts[ups[0]] > 0


def test_source_route_and_connected_route() -> None:
    b, r, ingress, ups = _router_with_uplinks(2)
    b.route(r, "0.0.0.0/0", next_hop_port=ups[0], next_hop_gw="172.16.1.254")
    b.route(r, "0.0.0.0/0", src="10.0.0.0/28", next_hop_port=ups[1], next_hop_gw="172.16.2.254")
    t = b.build()
    arps = {r: {parse_ip("172.16.1.254"): 1, parse_ip("172.16.2.254"): 2}}
    state = DictStateView(arps=arps)
    res = simulate(t, state, ingress, _pkt(b, ingress))
    assert res.egress_ports == (ups[1],)  # 10.0.0.5 is in the source prefix
    other = _pkt(b, ingress)._replace(ip_src=parse_ip("10.0.0.100"))
    assert simulate(t, state, ingress, other).egress_ports == (ups[0],)
    # connected route: a host on an uplink subnet, resolved through ARP
    res = simulate(t, state, ingress, _pkt(b, ingress, dst="172.16.2.7"))
    assert res.decision is Decision.NEEDS_ARP
    assert res.arp_wait is not None and res.arp_wait.ip == parse_ip("172.16.2.7")


def test_arp_wait_is_bounded() -> None:
    b, r, ingress, _ups = _router_with_uplinks(1)
    t = b.build()
    pkt = _pkt(b, ingress, dst="172.16.1.9")
    state = DictStateView()
    for attempt in range(MAX_ARP_ATTEMPTS):
        res = simulate(t, state, ingress, pkt)
        assert res.decision is Decision.NEEDS_ARP, attempt
        assert res.generated[0].packet.arp_tpa == parse_ip("172.16.1.9")
        state = state.with_attempt(r, parse_ip("172.16.1.9"))
    res = simulate(t, state, ingress, pkt)
    assert res.decision is Decision.REJECT
    assert res.generated[0].packet.icmp_code == 1
    assert res.generated[0].port_id == ingress


def test_packet_not_for_router_mac_drops() -> None:
    b, _r, ingress, _ = _router_with_uplinks(1)
    pkt = _pkt(b, ingress)._replace(eth_dst=0x02DD00000000)
    assert simulate(b.build(), DictStateView(), ingress, pkt).decision is Decision.DROP


def test_walk_is_bounded_to_twelve_devices() -> None:
    b = TopologyBuilder("chain-of-routers")
    routers = [b.router("t") for _ in range(14)]
    first_in = b.port(routers[0], address="10.0.0.1/24", binding={"host_id": "h", "interface": "i"})
    prev_out = None
    for i, rt in enumerate(routers):
        if prev_out is not None:
            pin = b.port(rt, address=f"172.31.{i}.2/30")
            b.link(prev_out, pin)
        prev_out = b.port(rt, address=f"172.31.{i + 1}.1/30")
        b.route(rt, "8.0.0.0/8", next_hop_port=prev_out)
    t = b.build()
    pkt = _pkt(b, first_in)._replace(ttl=64)
    res = simulate(t, DictStateView(), first_in, pkt)
    assert res.decision is Decision.DROP
    assert res.reason == "walk exceeded 12 devices"
    assert sum(1 for h in res.hops if h.kind == "router") == 12


def test_broadcast_frames_are_not_routed() -> None:
    b, r, ingress, ups = _router_with_uplinks(1)
    b.route(r, "0.0.0.0/0", next_hop_port=ups[0], next_hop_gw="172.16.1.254")
    pkt = _pkt(b, ingress, dst="255.255.255.255")._replace(eth_dst=0xFFFFFFFFFFFF)
    res = simulate(b.build(), DictStateView(arps={r: {parse_ip("172.16.1.254"): 1}}), ingress, pkt)
    assert res.decision is Decision.DROP and res.egress == ()


def test_router_answers_arp_on_an_exterior_port_and_learns_the_asker() -> None:
    from services.simulation import ArpLearned
    from services.simulation.packet import ARP_REPLY, ARP_REQUEST, ETH_ARP

    b, r, _ingress, ups = _router_with_uplinks(1)
    t = b.build()
    gw_mac = 0x02EE00000001
    ask = Packet(
        eth_src=gw_mac,
        eth_dst=0xFFFFFFFFFFFF,
        ethertype=ETH_ARP,
        arp_op=ARP_REQUEST,
        arp_sha=gw_mac,
        arp_spa=parse_ip("172.16.1.254"),
        arp_tha=0,
        arp_tpa=parse_ip("172.16.1.1"),
    )
    res = simulate(t, DictStateView(), ups[0], ask)
    assert res.decision is Decision.CONSUMED
    (reply,) = res.generated
    assert reply.port_id == ups[0] and reply.packet.arp_op == ARP_REPLY
    assert reply.packet.arp_sha == t.ports[ups[0]].mac
    assert res.learned == (ArpLearned(r, parse_ip("172.16.1.254"), gw_mac),)
    known = DictStateView().apply(res.learned)
    assert simulate(t, known, ups[0], ask).learned == ()
    # a request for another address is not for this router
    other = ask._replace(arp_tpa=parse_ip("172.16.1.2"))
    assert simulate(t, DictStateView(), ups[0], other).decision is Decision.DROP
