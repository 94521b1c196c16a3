"""The two-tenant scenario, end to end through the pure model: traces and decisions."""

from __future__ import annotations

from services.simulation import Decision, DictStateView, MacLearned, emit, simulate
from services.simulation import icmp as icmp_mod
from services.simulation.packet import ARP_REPLY, PROTO_ICMP, Packet
from services.simulation.router import MAX_ARP_ATTEMPTS
from services.topology.addr import parse_mac
from tests.services.scenario import arp_request, ip, tcp, two_tenants

EMPTY = DictStateView()


def _routers(result: object) -> list[str]:
    return [h.device for h in result.hops if h.kind == "router"]  # type: ignore[attr-defined]


def test_east_west_same_bridge_learns_and_forwards() -> None:
    s = two_tenants()
    t = s.topo()
    a2_mac = t.ports[s["a2"]].mac
    r = simulate(t, EMPTY, s["a1"], tcp(t, s["a1"], a2_mac, "10.0.1.11", "10.0.1.12"))
    assert r.decision is Decision.FORWARD
    assert r.egress_ports == (s["a2"],)
    assert r.egress[0].host_id == "h2"
    assert r.egress[0].tunnel_key == t.tunnel_keys[s["a2"]]
    assert r.packet_out is not None and r.rewrites(r.egress[0]) == {}
    # a1's MAC is static (configured on its port), so nothing is learned
    assert r.learned == ()
    assert [h.kind for h in r.hops] == ["port", "bridge", "port"]
    # L2 forwarding reads no L3 field
    assert set(r.match.fields()) <= {"eth_src", "eth_dst", "ethertype", "vlan"}


def test_unknown_mac_is_learned_and_flooded() -> None:
    s = two_tenants()
    t = s.topo()
    stranger = parse_mac("02:aa:00:00:00:01")
    pkt = Packet(eth_src=stranger, eth_dst=parse_mac("02:aa:00:00:00:02"), ip_src=1, ip_dst=2)
    r = simulate(t, EMPTY, s["a1"], pkt)
    assert r.decision is Decision.FORWARD
    # flooded to a2 (VM) and to the router port, which drops it (not its MAC)
    assert r.egress_ports == (s["a2"],)
    assert r.learned == (MacLearned(s["bA"], 0, stranger, s["a1"]),)
    assert ("flood", s["bA"]) in r.tags


def test_north_south_and_cross_tenant() -> None:
    s = two_tenants()
    t = s.topo()
    gw = t.ports[s["rA-in"]].mac
    r = simulate(t, EMPTY, s["a1"], tcp(t, s["a1"], gw, "10.0.1.11", "10.0.2.11"))
    assert r.decision is Decision.FORWARD, r.reason
    assert r.egress_ports == (s["b1"],)
    assert _routers(r) == [s["rA"], s["P"], s["rB"]]
    out = r.packet_out
    assert out is not None
    assert out.ttl == 61
    assert out.eth_src == t.ports[s["rB-in"]].mac
    assert out.eth_dst == t.ports[s["b1"]].mac
    assert r.rewrites(r.egress[0]) == {"eth_src": out.eth_src, "eth_dst": out.eth_dst, "ttl": 61}

    # north-south: the gateway of the provider is resolved through its ARP table
    pkt = tcp(t, s["a1"], gw, "10.0.1.11", "8.8.8.8")
    r = simulate(t, EMPTY, s["a1"], pkt)
    assert r.decision is Decision.NEEDS_ARP
    assert r.arp_wait is not None and r.arp_wait.ip == ip("203.0.113.254")
    (req,) = r.generated
    assert req.port_id == s["P-ext"] and req.packet.arp_tpa == ip("203.0.113.254")
    out_arp = emit(t, EMPTY, req.port_id, req.packet)
    assert out_arp.egress_ports == (s["P-ext"],)
    known = DictStateView(arps={s["P"]: {ip("203.0.113.254"): parse_mac("02:ed:9e:00:00:01")}})
    r = simulate(t, known, s["a1"], pkt)
    assert r.decision is Decision.FORWARD
    assert r.egress_ports == (s["P-ext"],) and r.egress[0].host_id == "edge"
    assert r.packet_out is not None and r.packet_out.eth_dst == parse_mac("02:ed:9e:00:00:01")
    assert ("arp", s["P"], ip("203.0.113.254")) in r.tags

    # after MAX_ARP_ATTEMPTS unanswered requests: host unreachable, sent back towards a1
    given_up = DictStateView(attempts={(s["P"], ip("203.0.113.254")): MAX_ARP_ATTEMPTS})
    r = simulate(t, given_up, s["a1"], pkt)
    assert r.decision is Decision.REJECT
    (err,) = r.generated
    assert (err.packet.icmp_type, err.packet.icmp_code) == (3, icmp_mod.CODE_HOST_UNREACH)
    assert err.port_id == s["P-a"]
    back = emit(t, EMPTY, err.port_id, err.packet)
    assert back.egress_ports == (s["a1"],)
    assert back.packet_out is not None and back.packet_out.ip_dst == ip("10.0.1.11")


def test_rule_on_other_tenant_drops_ssh() -> None:
    s = two_tenants()
    t = s.topo()
    gw = t.ports[s["rA-in"]].mac
    r = simulate(t, EMPTY, s["a1"], tcp(t, s["a1"], gw, "10.0.1.11", "10.0.2.11", dst_port=22))
    assert r.decision is Decision.DROP
    chain_hop = [h for h in r.hops if h.kind == "chain"][-1]
    assert chain_hop.device == s["chainB"] and chain_hop.rule == s["no-ssh"]
    assert ("rule", s["no-ssh"]) in r.tags
    assert "dst_port" in r.match.fields()


def test_arp_answered_locally() -> None:
    s = two_tenants()
    t = s.topo()
    for target, owner in (("10.0.1.1", s["rA-in"]), ("10.0.1.12", s["a2"])):
        r = simulate(t, EMPTY, s["a1"], arp_request(t, s["a1"], "10.0.1.11", target))
        assert r.decision is Decision.CONSUMED
        assert r.egress == ()
        (reply,) = r.generated
        assert reply.port_id == s["a1"]
        assert reply.packet.arp_op == ARP_REPLY
        assert reply.packet.arp_sha == t.ports[owner].mac
        assert reply.packet.arp_spa == ip(target)
        assert reply.packet.eth_dst == t.ports[s["a1"]].mac
    # unknown address: flooded to the other VM (and to the router, which drops it)
    r = simulate(t, EMPTY, s["a1"], arp_request(t, s["a1"], "10.0.1.11", "10.0.1.99"))
    assert r.decision is Decision.FORWARD and r.egress_ports == (s["a2"],)


def test_router_learns_arp_reply_and_answers_ping() -> None:
    s = two_tenants()
    t = s.topo()
    rmac = t.ports[s["rA-in"]].mac
    a1mac = t.ports[s["a1"]].mac
    reply = Packet(
        eth_src=a1mac,
        eth_dst=rmac,
        ethertype=0x0806,
        arp_op=ARP_REPLY,
        arp_sha=a1mac,
        arp_spa=ip("10.0.1.11"),
        arp_tha=rmac,
        arp_tpa=ip("10.0.1.1"),
    )
    r = simulate(t, EMPTY, s["a1"], reply)
    assert r.decision is Decision.CONSUMED
    assert any(getattr(u, "router_id", None) == s["rA"] for u in r.learned)
    ping = Packet(
        eth_src=a1mac,
        eth_dst=rmac,
        ip_src=ip("10.0.1.11"),
        ip_dst=ip("10.0.1.1"),
        proto=PROTO_ICMP,
        ttl=64,
        icmp_type=8,
        icmp_code=0,
    )
    r = simulate(t, EMPTY, s["a1"], ping)
    assert r.decision is Decision.CONSUMED
    (echo,) = r.generated
    assert echo.packet.icmp_type == 0 and echo.packet.ip_dst == ip("10.0.1.11")
    assert emit(t, EMPTY, echo.port_id, echo.packet).egress_ports == (s["a1"],)
    # the provider's far address answers too (local route on another port)
    far = ping._replace(ip_dst=ip("10.0.1.1"))
    assert simulate(t, EMPTY, s["a1"], far).decision is Decision.CONSUMED


def test_ttl_expiry_and_unreachable_destinations() -> None:
    s = two_tenants()
    t = s.topo()
    gw = t.ports[s["rA-in"]].mac
    r = simulate(t, EMPTY, s["a1"], tcp(t, s["a1"], gw, "10.0.1.11", "10.0.2.11", ttl=1))
    assert r.decision is Decision.REJECT
    (err,) = r.generated
    assert err.packet.icmp_type == icmp_mod.TIME_EXCEEDED
    assert err.packet.ip_src == ip("10.0.1.1") and err.port_id == s["rA-in"]
    # expiring at the second router: the error comes from the provider's address
    r = simulate(t, EMPTY, s["a1"], tcp(t, s["a1"], gw, "10.0.1.11", "10.0.2.11", ttl=2))
    assert r.decision is Decision.REJECT and r.generated[0].packet.ip_src == ip("172.16.0.1")

    r = simulate(t, EMPTY, s["a1"], tcp(t, s["a1"], gw, "10.0.1.11", "192.168.3.4"))
    assert r.decision is Decision.DROP and r.reason == "blackhole route"
    r = simulate(t, EMPTY, s["a1"], tcp(t, s["a1"], gw, "10.0.1.11", "192.0.2.9"))
    assert r.decision is Decision.REJECT
    assert r.generated[0].packet.icmp_code == icmp_mod.CODE_ADMIN_PROHIBITED

    # without the provider's default route: net unreachable
    s.b.remove("routes", s["P-default"])
    t = s.topo()
    r = simulate(t, EMPTY, s["a1"], tcp(t, s["a1"], gw, "10.0.1.11", "8.8.8.8"))
    assert r.decision is Decision.REJECT and r.reason == "no route"
    err_pkt = r.generated[0].packet
    assert (err_pkt.icmp_type, err_pkt.icmp_code) == (3, icmp_mod.CODE_NET_UNREACH)
    # no ICMP error about an ICMP error
    icmp_err = tcp(t, s["a1"], gw, "10.0.1.11", "8.8.8.8")._replace(proto=1, icmp_type=3)
    r = simulate(t, EMPTY, s["a1"], icmp_err)
    assert r.decision is Decision.DROP and r.generated == ()
