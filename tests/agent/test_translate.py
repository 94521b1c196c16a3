"""Translation of simulation results into datapath flows (pure), checked against the
userspace classifier and the kernel's mask rules."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from datapath.flow.actions import Output, SetMasked, SetTunnel
from datapath.flow.flat import flatten
from datapath.flow.key import ETH_TYPE_ARP, ETH_TYPE_IPV4, EthernetKey, Ipv4Key, TcpKey
from datapath.flow.mask import mask_header
from datapath.userspace.classifier import FlowTable
from services.agent.translate import (
    ERROR_TIMEOUT,
    NORMAL_TIMEOUT,
    LocalView,
    TranslationError,
    flow_mask,
    key_of,
    packet_of,
    rewrite_actions,
    translate,
    tunnel_flow,
)
from services.simulation import DictStateView, simulate
from services.simulation.packet import (
    ARP_REQUEST,
    ETH_ARP,
    FIELD_NAMES,
    PROTO_TCP,
    PROTO_UDP,
    Packet,
)
from services.topology.addr import BROADCAST_MAC, parse_ip
from services.topology.builder import TopologyBuilder
from services.topology.snapshot import Topology

H1_IP = parse_ip("192.0.2.1")
H2_IP = parse_ip("192.0.2.2")
TUN = 9


def _scenario() -> tuple[Topology, dict[str, str], TopologyBuilder]:
    b = TopologyBuilder("agent")
    ids: dict[str, str] = {}
    ids["bA"] = b.bridge("A")
    ids["bB"] = b.bridge("B")
    ids["r"] = b.router("A")
    ids["a1"] = b.vm_port(ids["bA"], "h1", "10.0.1.11")
    ids["a2"] = b.vm_port(ids["bA"], "h1", "10.0.1.12")
    ids["a3"] = b.vm_port(ids["bA"], "h2", "10.0.1.13")
    ids["b1"] = b.vm_port(ids["bB"], "h2", "10.0.2.11")
    b.attach(ids["r"], ids["bA"], "10.0.1.1/24")
    ids["r-b"], _ = b.attach(ids["r"], ids["bB"], "10.0.2.1/24")
    return b.build(), ids, b


def _local(ids: dict[str, str], host: str = "h1", **over: object) -> LocalView:
    ports = {ids["a1"]: 1, ids["a2"]: 2}
    args: dict[str, object] = {
        "host_id": host,
        "port_numbers": ports,
        "underlay": {"h1": H1_IP, "h2": H2_IP},
        "tunnel_port": TUN,
    }
    args.update(over)
    return LocalView(**args)  # type: ignore[arg-type]


def _tcp(
    topo: Topology, src: str, dst_mac: int, ip_src: str, ip_dst: str, sport: int = 40000
) -> Packet:
    return Packet(
        eth_src=topo.ports[src].mac,
        eth_dst=dst_mac,
        ip_src=parse_ip(ip_src),
        ip_dst=parse_ip(ip_dst),
        proto=PROTO_TCP,
        ttl=64,
        src_port=sport,
        dst_port=80,
    )


def _router_mac(topo: Topology, bridge: str) -> int:
    for p in topo.ports.values():
        if p.device_id in topo.routers and p.peer_id and topo.ports[p.peer_id].device_id == bridge:
            return p.mac
    raise AssertionError("no router port")


def test_packet_key_round_trip() -> None:
    topo, ids, _ = _scenario()
    pkt = _tcp(topo, ids["a1"], 0x0200000000FF, "10.0.1.11", "10.0.2.11")
    key = key_of(pkt, 3)
    assert key.in_port == 3 and key.tcp == TcpKey(40000, 80)
    assert packet_of(key) == pkt


def test_routed_to_remote_host_rewrites_and_tunnels() -> None:
    topo, ids, _ = _scenario()
    pkt = _tcp(topo, ids["a1"], _router_mac(topo, ids["bA"]), "10.0.1.11", "10.0.2.11")
    result = simulate(topo, DictStateView(), ids["a1"], pkt)
    key = key_of(pkt, 1)
    plan = translate(result, key, _local(ids))
    assert plan is not None and plan.hard_timeout == NORMAL_TIMEOUT and plan.error is None
    eth, ip4, tun, out = plan.actions
    assert isinstance(eth, SetMasked) and isinstance(eth.header, EthernetKey)
    assert eth.header.dst == topo.ports[ids["b1"]].mac
    assert eth.header.src == topo.ports[ids["r-b"]].mac
    # set_masked values carry no bits outside their mask (the kernel refuses them)
    for a in plan.actions:
        if isinstance(a, SetMasked):
            assert mask_header(a.header, a.mask) == a.header
    assert ip4 == SetMasked(Ipv4Key(ttl=63), Ipv4Key(ttl=0xFF))
    assert isinstance(tun, SetTunnel)
    assert tun.tunnel.tun_id == topo.tunnel_keys[ids["b1"]] and tun.tunnel.tun_id != 0
    assert tun.tunnel.ipv4_dst == H2_IP and tun.tunnel.ttl == 64
    assert out == Output(TUN)
    assert ("host", "h2") in plan.tags and ("port", ids["b1"]) in plan.tags
    # TTL is matched exactly (it is rewritten to a constant); in_port and eth_type too
    assert plan.mask.ipv4 is not None and plan.mask.ipv4.ttl == 0xFF
    assert plan.mask.in_port == 0xFFFFFFFF and plan.mask.eth_type == 0xFFFF


def test_local_egress_outputs_to_the_bound_port_and_megaflow_covers_other_ports() -> None:
    topo, ids, _ = _scenario()
    a2_mac = topo.ports[ids["a2"]].mac
    state = DictStateView({(ids["bA"], 0): {a2_mac: ids["a2"]}})
    pkt = _tcp(topo, ids["a1"], a2_mac, "10.0.1.11", "10.0.1.12")
    result = simulate(topo, state, ids["a1"], pkt)
    plan = translate(result, key_of(pkt, 1), _local(ids))
    assert plan is not None and plan.actions == (Output(2),)
    # installed in the userspace classifier, the flow matches another TCP source port
    # (the bridge did not read it) but not another destination MAC
    table = FlowTable()
    table.install(b"u" * 16, plan.key, plan.mask, plan.actions, False)
    other = key_of(pkt._replace(src_port=1234), 1)
    assert table.lookup(flatten(other)) is not None
    assert table.lookup(flatten(key_of(pkt._replace(eth_dst=a2_mac + 1), 1))) is None


def test_flood_outputs_locally_and_through_the_tunnel() -> None:
    topo, ids, _ = _scenario()
    pkt = _tcp(topo, ids["a1"], 0x02AAAAAAAAAA, "10.0.1.11", "10.0.1.99")
    result = simulate(topo, DictStateView(), ids["a1"], pkt)
    plan = translate(result, key_of(pkt, 1), _local(ids))
    assert plan is not None
    assert Output(2) in plan.actions and Output(TUN) in plan.actions
    tunnels = [a for a in plan.actions if isinstance(a, SetTunnel)]
    assert [t.tunnel.tun_id for t in tunnels] == [topo.tunnel_keys[ids["a3"]]]


def test_drop_rule_gives_empty_actions_with_error_timeout() -> None:
    _, ids, b = _scenario()
    chain = b.chain("A")
    b.rule(chain, 1, "drop", proto="udp")
    b.update("bridges", ids["bA"], inbound_chain_id=chain)
    topo = b.build()
    pkt = _tcp(topo, ids["a1"], 0x02AAAAAAAAAA, "10.0.1.11", "10.0.1.12")._replace(proto=PROTO_UDP)
    plan = translate(simulate(topo, DictStateView(), ids["a1"], pkt), key_of(pkt, 1), _local(ids))
    assert plan is not None and plan.drops and plan.hard_timeout == ERROR_TIMEOUT
    assert plan.error is None
    assert plan.mask.ipv4 is not None and plan.mask.ipv4.proto == 0xFF
    assert any(t[0] == "rule" for t in plan.tags)


def test_arp_request_is_answered_without_a_flow() -> None:
    topo, ids, _ = _scenario()
    mac = topo.ports[ids["a1"]].mac
    pkt = Packet(
        eth_src=mac,
        eth_dst=BROADCAST_MAC,
        ethertype=ETH_ARP,
        arp_op=ARP_REQUEST,
        arp_sha=mac,
        arp_spa=parse_ip("10.0.1.11"),
        arp_tha=0,
        arp_tpa=parse_ip("10.0.1.1"),
    )
    result = simulate(topo, DictStateView(), ids["a1"], pkt)
    assert result.generated
    assert translate(result, key_of(pkt, 1), _local(ids)) is None


def test_unknown_underlay_is_an_error_drop() -> None:
    topo, ids, _ = _scenario()
    pkt = _tcp(topo, ids["a1"], _router_mac(topo, ids["bA"]), "10.0.1.11", "10.0.2.11")
    result = simulate(topo, DictStateView(), ids["a1"], pkt)
    plan = translate(result, key_of(pkt, 1), _local(ids, underlay={"h1": H1_IP}))
    assert plan is not None and plan.drops and plan.hard_timeout == ERROR_TIMEOUT
    assert plan.error is not None and "h2" in plan.error
    assert ("host", "h2") in plan.tags  # the flow goes when h2 shows up


def test_unsettable_rewrite_is_refused() -> None:
    pkt = Packet(eth_src=1, eth_dst=2, ip_src=1, ip_dst=2, proto=1, ttl=9, icmp_type=8)
    try:
        rewrite_actions(pkt, pkt._replace(icmp_type=0))
    except TranslationError as e:
        assert "icmp_type" in str(e)
    else:
        raise AssertionError("no error")


def test_tunnel_flow_keeps_kernel_tunnel_rules() -> None:
    key, mask, actions = tunnel_flow(TUN, 77, H2_IP, 3, ETH_TYPE_IPV4)
    assert key.tunnel is not None and key.tunnel.ttl > 0 and key.tunnel.ipv4_dst == H2_IP
    assert key.ipv4 is not None and mask.tunnel is not None and mask.tunnel.tun_id
    assert actions == (Output(3),)
    akey, _, _ = tunnel_flow(TUN, 77, H2_IP, 3, ETH_TYPE_ARP)
    assert akey.arp is not None and akey.ipv4 is None


_BITS = st.integers(min_value=0, max_value=(1 << len(FIELD_NAMES)) - 1)
_PACKETS = st.sampled_from(
    [
        Packet(eth_src=1, eth_dst=2, ip_src=3, ip_dst=4, proto=6, ttl=5, src_port=7, dst_port=8),
        Packet(eth_src=1, eth_dst=2, ip_src=3, ip_dst=4, proto=17, ttl=5, src_port=7, dst_port=8),
        Packet(eth_src=1, eth_dst=2, ip_src=3, ip_dst=4, proto=1, ttl=5, icmp_type=8, icmp_code=0),
        Packet(eth_src=1, eth_dst=2, ip_src=3, ip_dst=4, proto=6, ttl=5, fragment="later"),
        Packet(
            eth_src=1,
            eth_dst=2,
            ethertype=ETH_ARP,
            arp_op=1,
            arp_sha=1,
            arp_spa=3,
            arp_tha=0,
            arp_tpa=4,
        ),
        Packet(eth_src=1, eth_dst=2, ethertype=0x86DD),
        Packet(
            eth_src=1, eth_dst=2, vlan=5, ip_src=3, ip_dst=4, proto=6, ttl=5, src_port=7, dst_port=8
        ),
    ]
)


@given(_BITS, _PACKETS)
def test_masks_follow_the_kernel_rules(bits: int, pkt: Packet) -> None:
    key = key_of(pkt, 4)
    mask = flow_mask(bits, key)
    assert mask.in_port == 0xFFFFFFFF and mask.eth_type == 0xFFFF
    for name in ("vlan", "ipv4", "ipv6", "tcp", "udp", "icmp", "arp"):
        if getattr(mask, name) is not None:  # never a mask for a header the key lacks
            assert getattr(key, name) is not None, name
    if mask.tcp or mask.udp or mask.icmp:
        assert mask.ipv4 is not None and mask.ipv4.proto == 0xFF
    # the masked key is a projection: the packet matches its own flow
    table = FlowTable()
    table.install(b"k" * 16, key, mask, (), False)
    assert table.lookup(flatten(key)) is not None
