"""The kernel backend against a real openvswitch.ko (inside the test VM): datapaths, ports,
flows round-tripped through the kernel, upcalls, execute, and VXLAN between two hosts."""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest

from datapath.api import DatapathError, PortEventKind, PortType, UpcallKind
from datapath.flow import (
    ArpKey,
    Drop,
    EthernetKey,
    FlowKey,
    FlowMask,
    IcmpKey,
    Icmpv6Key,
    Ipv4Key,
    Ipv6Key,
    Output,
    PopVlan,
    PushVlan,
    SetField,
    SetMasked,
    SetTunnel,
    TcpKey,
    TunnelKey,
    UdpKey,
    Userspace,
    VlanKey,
)
from datapath.flow.addr import ip4, ip6, mac
from datapath.flow.flat import flatten
from datapath.flow.mask import full
from datapath.netns import in_netns
from datapath.odp import KernelDatapath
from datapath.odp.rules import normalize_mask
from datapath.packet import build
from datapath.packet.parse import parse_packet
from tests.datapath.netns import Lab, lab, next_upcall, nsx, ping

pytestmark = pytest.mark.kernel

MAC1, MAC2 = "02:00:00:00:02:01", "02:00:00:00:02:02"
A, B = mac(MAC1), mac(MAC2)


def dp_name() -> str:
    return f"dpk{uuid.uuid4().hex[:8]}"


@pytest.fixture
def net() -> Iterator[Lab]:
    with lab() as the_lab:
        yield the_lab


@pytest.fixture
async def dp() -> AsyncIterator[KernelDatapath]:
    the_dp = await KernelDatapath.create(dp_name())
    try:
        yield the_dp
    finally:
        await the_dp.close()


async def test_create_open_delete_datapath() -> None:
    name = dp_name()
    dp = await KernelDatapath.create(name)
    try:
        assert dp.dp_ifindex > 0
        assert dp.per_cpu  # 6.1 offers per-CPU upcall dispatch
        ports = await dp.list_ports()
        assert [(p.port_no, p.name, p.type) for p in ports] == [(0, name, PortType.INTERNAL)]
        again = await KernelDatapath.open(name)
        assert again.dp_ifindex == dp.dp_ifindex
        await again.close()  # not owned: the datapath stays
        assert (await dp.stats()).flows == 0
        with pytest.raises(DatapathError) as err:
            await KernelDatapath.create(name)
        assert err.value.errno == 17  # EEXIST
    finally:
        await dp.close()
    with pytest.raises(DatapathError):
        await KernelDatapath.open(name)


async def test_ports_and_events(dp: KernelDatapath) -> None:
    vname = f"kv{uuid.uuid4().hex[:6]}"
    nsx_root("ip", "link", "add", vname, "type", "veth", "peer", "name", vname + "p")
    try:
        events = dp.port_events()
        netdev = await dp.add_netdev_port(vname)
        internal = await dp.add_internal_port(f"ki{uuid.uuid4().hex[:6]}")
        vxlan = await dp.add_tunnel_port(f"kx{uuid.uuid4().hex[:6]}", PortType.VXLAN, 4789)
        compat = await dp.add_tunnel_port(
            f"kc{uuid.uuid4().hex[:6]}", PortType.VXLAN, 4790, device=False
        )
        gre = await dp.add_tunnel_port(f"kg{uuid.uuid4().hex[:6]}", PortType.GRE)
        geneve = await dp.add_tunnel_port(f"kn{uuid.uuid4().hex[:6]}", PortType.GENEVE, 6081)
        ports = {p.port_no: p for p in await dp.list_ports()}
        assert ports[netdev.port_no].type is PortType.NETDEV
        assert ports[internal.port_no].type is PortType.INTERNAL
        assert ports[vxlan.port_no].type is PortType.VXLAN
        assert ports[compat.port_no].type is PortType.VXLAN
        assert ports[compat.port_no].dst_port == 4790
        assert ports[gre.port_no].type is PortType.GRE
        assert ports[geneve.port_no].type is PortType.GENEVE
        assert ports[geneve.port_no].dst_port == 6081
        seen = [await asyncio.wait_for(anext(events), 5) for _ in range(6)]
        assert {e.port.port_no for e in seen} == {
            compat.port_no,
            netdev.port_no,
            internal.port_no,
            vxlan.port_no,
            gre.port_no,
            geneve.port_no,
        }
        assert all(e.kind is PortEventKind.ADDED for e in seen)
        await dp.remove_port(internal.port_no)
        gone = await asyncio.wait_for(anext(events), 5)
        assert gone.kind is PortEventKind.REMOVED and gone.port.port_no == internal.port_no
        await dp.remove_port(vxlan.port_no)  # also deletes the rtnetlink vxlan device
        names = {p.name for p in await dp.list_ports()}
        assert internal.name not in names and vxlan.name not in names
        assert vxlan.name not in {name for _i, name in socket.if_nameindex()}
        await events.aclose()
    finally:
        nsx_root("ip", "link", "del", vname)


def nsx_root(*args: str) -> None:
    import subprocess

    subprocess.run(args, check=False, capture_output=True)


# -- round trip of every key and action attribute -----------------------------------

TUN = TunnelKey(tun_id=0x1234, ipv4_src=ip4("10.9.0.1"), ipv4_dst=ip4("10.9.0.2"), ttl=64)
V4 = Ipv4Key(ip4("10.0.0.1"), ip4("10.0.0.2"), 6, 0x10, 64, 0)
V6 = Ipv6Key(ip6("fd00::1"), ip6("fd00::2"), 0x12345, 58, 0, 64, 0)

MATCHES: list[tuple[str, FlowKey, FlowMask]] = [
    (
        "in_port only",
        FlowKey(in_port=1, eth=EthernetKey(A, B), eth_type=0x0800, ipv4=V4),
        FlowMask(in_port=0xFFFFFFFF),
    ),
    (
        "ethernet + mark",
        FlowKey(in_port=1, skb_mark=7, eth=EthernetKey(A, B), eth_type=0x0806),
        FlowMask(in_port=0xFFFFFFFF, skb_mark=0xFF, eth=EthernetKey(0, full(EthernetKey).dst)),  # type: ignore[union-attr]
    ),
    (
        "ipv4 tcp with flags",
        FlowKey(
            in_port=1,
            eth=EthernetKey(A, B),
            eth_type=0x0800,
            ipv4=V4,
            tcp=TcpKey(1000, 80),
            tcp_flags=0x02,
        ),
        FlowMask(
            in_port=0xFFFFFFFF,
            ipv4=Ipv4Key(dst=0xFFFFFF00),
            tcp=TcpKey(dst=0xFFFF),
            tcp_flags=0x02,
        ),
    ),
    (
        "ipv4 udp exact",
        FlowKey(
            in_port=2,
            eth=EthernetKey(A, B),
            eth_type=0x0800,
            ipv4=Ipv4Key(ip4("10.0.0.1"), ip4("10.0.0.2"), 17, 0, 64, 0),
            udp=UdpKey(5353, 53),
        ),
        None,  # type: ignore[list-item]
    ),
    (
        "icmp",
        FlowKey(
            in_port=2,
            eth=EthernetKey(A, B),
            eth_type=0x0800,
            ipv4=Ipv4Key(ip4("10.0.0.1"), ip4("10.0.0.2"), 1, 0, 64, 0),
            icmp=IcmpKey(8, 0),
        ),
        FlowMask(in_port=0xFFFFFFFF, icmp=IcmpKey(0xFF, 0xFF)),
    ),
    (
        "ipv6 icmpv6",
        FlowKey(
            in_port=3, eth=EthernetKey(A, B), eth_type=0x86DD, ipv6=V6, icmpv6=Icmpv6Key(128, 0)
        ),
        FlowMask(
            in_port=0xFFFFFFFF,
            ipv6=Ipv6Key(src=(1 << 128) - 1, label=0xFFFFF),
            icmpv6=Icmpv6Key(0xFF, 0),
        ),
    ),
    (
        "arp",
        FlowKey(in_port=1, eth=EthernetKey(A, B), eth_type=0x0806, arp=ArpKey(1, 2, 1, A, 0)),
        FlowMask(in_port=0xFFFFFFFF, arp=ArpKey(tip=0xFFFFFFFF, op=0xFF)),
    ),
    (
        "vlan",
        FlowKey(
            in_port=1, eth=EthernetKey(A, B), vlan=VlanKey(0x1000 | 10), eth_type=0x0800, ipv4=V4
        ),
        FlowMask(in_port=0xFFFFFFFF, vlan=VlanKey(0x0FFF), eth_type=0xFFFF),
    ),
    (
        "tunnel tos, ports, flags",
        FlowKey(
            in_port=4,
            tunnel=TunnelKey(0x99, ip4("10.9.0.1"), ip4("10.9.0.2"), 0x10, 64, 0, 4789, 0x1),
            eth=EthernetKey(A, B),
        ),
        FlowMask(
            in_port=0xFFFFFFFF,
            tunnel=TunnelKey(
                tun_id=(1 << 64) - 1, ipv4_dst=0xFFFFFFFF, tos=0xFF, tp_dst=0xFFFF, flags=0x1
            ),
        ),
    ),
    (
        "tunnel",
        FlowKey(in_port=4, tunnel=TUN, eth=EthernetKey(A, B), eth_type=0x0800, ipv4=V4),
        FlowMask(
            in_port=0xFFFFFFFF,
            tunnel=TunnelKey(tun_id=(1 << 64) - 1, ipv4_src=0xFFFFFFFF, ipv4_dst=0xFFFFFFFF),
        ),
    ),
]

ACTIONS = [
    ("output", (Output(1),)),
    ("drop", (Drop(),)),
    ("set eth", (SetField(EthernetKey(A, B)), Output(2))),
    ("set ipv4", (SetField(Ipv4Key(ip4("10.1.1.1"), ip4("10.1.1.2"), 6, 0, 9, 0)), Output(2))),
    (
        "set_masked ipv4",
        (SetMasked(Ipv4Key(dst=ip4("10.1.1.9")), Ipv4Key(dst=0xFFFFFFFF)), Output(2)),
    ),
    ("set tcp", (SetField(TcpKey(1, 2)), Output(1))),
    ("set_masked udp", (SetMasked(UdpKey(dst=53), UdpKey(dst=0xFFFF)), Output(1))),
    ("set ipv6", (SetField(Ipv6Key(ip6("fd00::9"), ip6("fd00::8"), 0, 58, 0, 5, 0)), Output(1))),
    ("set tunnel", (SetTunnel(TunnelKey(tun_id=77, ipv4_dst=ip4("10.9.0.9"), ttl=64)), Output(4))),
    ("push/pop vlan", (PushVlan(tci=100), Output(1), PopVlan(), Output(2))),
    ("userspace", (Userspace(b"cookie-1"), Output(1))),
]


def _flat_masked(key: FlowKey, mask: FlowMask) -> tuple[int, ...]:
    return flatten(mask.apply(key))


def _dumped_mask_matches(dumped: FlowMask, expected: FlowMask) -> bool:
    # The kernel also reports masks for what we did not ask (recirc id...), not part of ours;
    # compare the headers we expressed.
    for name in FlowKey.HEADERS:
        want = getattr(expected, name)
        if want is not None and getattr(dumped, name) != want:
            return False
    return dumped.eth_type == expected.eth_type or expected.eth_type == 0


@pytest.mark.parametrize("label,key,mask", MATCHES, ids=[m[0] for m in MATCHES])
async def test_match_roundtrip(
    dp: KernelDatapath, label: str, key: FlowKey, mask: FlowMask
) -> None:
    ufid = await dp.install_flow(key, mask, [Output(0)])
    (flow,) = await dp.dump_flows()
    assert flow.ufid == ufid
    expected = normalize_mask(key, mask or FlowMask.exact(key))
    assert _flat_masked(flow.key, expected) == _flat_masked(key, expected), label
    assert _dumped_mask_matches(flow.mask, expected), (label, flow.mask, expected)
    assert flow.actions == (Output(0),)
    await dp.delete_flow(ufid)
    assert await dp.dump_flows() == []


@pytest.mark.parametrize("label,actions", ACTIONS, ids=[a[0] for a in ACTIONS])
async def test_action_roundtrip(dp: KernelDatapath, label: str, actions: tuple) -> None:  # type: ignore[type-arg]
    key = FlowKey(
        in_port=1,
        eth=EthernetKey(A, B),
        eth_type=0x0800,
        ipv4=Ipv4Key(ip4("10.0.0.1"), ip4("10.0.0.2"), 6, 0, 64, 0),
        tcp=TcpKey(1, 2),
    )
    if label in ("set ipv6",):
        key = FlowKey(
            in_port=1, eth=EthernetKey(A, B), eth_type=0x86DD, ipv6=V6, icmpv6=Icmpv6Key(128, 0)
        )
    if label == "set_masked udp":
        key = FlowKey(
            in_port=1,
            eth=EthernetKey(A, B),
            eth_type=0x0800,
            ipv4=Ipv4Key(ip4("10.0.0.1"), ip4("10.0.0.2"), 17, 0, 64, 0),
            udp=UdpKey(1, 2),
        )
    await dp.install_flow(key, None, actions)
    (flow,) = await dp.dump_flows()
    want = tuple(a for a in actions if not isinstance(a, Drop))
    got = tuple(Userspace(a.userdata) if isinstance(a, Userspace) else a for a in flow.actions)
    assert got == want, label
    await dp.flush_flows()


async def test_kernel_rules_enforced_before_sending(dp: KernelDatapath) -> None:
    key = FlowKey(
        in_port=1, tunnel=TunnelKey(tun_id=5), eth=EthernetKey(A, B), eth_type=0x0800, ipv4=V4
    )
    with pytest.raises(DatapathError, match="tunnel destination"):
        await dp.install_flow(key, FlowMask(tunnel=TunnelKey(tun_id=0xFFFF)), [Output(1)])
    # an L4 mask without the protocol is widened, not refused
    tcp_key = FlowKey(in_port=1, eth=EthernetKey(A, B), eth_type=0x0800, ipv4=V4, tcp=TcpKey(1, 80))
    await dp.install_flow(tcp_key, FlowMask(tcp=TcpKey(dst=0xFFFF)), [Output(1)])
    (flow,) = await dp.dump_flows()
    assert flow.mask.ipv4 is not None and flow.mask.ipv4.proto == 0xFF
    assert flow.mask.eth_type == 0xFFFF


# -- packets -------------------------------------------------------------------------


def sniffer(ns: str, ifname: str) -> socket.socket:
    with in_netns(ns):
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
        s.bind((ifname, 3))
    s.setblocking(False)
    return s


async def recv_until(sock: socket.socket, want: bytes, timeout: float = 10.0) -> bytes:
    loop = asyncio.get_running_loop()
    async with asyncio.timeout(timeout):
        while True:
            data = await loop.sock_recv(sock, 65536)
            if want in data:
                return data


async def test_upcall_execute_and_userspace_action(net: Lab) -> None:
    host = net.ns("h")
    vm = net.vm(host, "p1", "192.168.60.1/24", MAC1)
    dp = await KernelDatapath.create(dp_name(), netns=host)
    try:
        port = await dp.add_netdev_port("p1")
        upcalls = dp.upcalls()
        pinger = asyncio.ensure_future(ping(vm, "192.168.60.2", count=1))
        up = await next_upcall(upcalls, lambda u: u.key.arp is not None)
        assert up.kind is UpcallKind.MISS
        assert up.key.in_port == port.port_no
        assert up.key.arp is not None and up.key.arp.tip == ip4("192.168.60.2")
        parsed = parse_packet(up.packet, in_port=port.port_no)
        assert flatten(parsed)[1:] == flatten(up.key)[1:]  # our parser agrees with the kernel
        assert (await dp.stats()).missed >= 1
        reply = build.arp_reply(up.packet, B)
        sniff = sniffer(vm, "eth0")
        try:
            await dp.execute(reply, [Output(port.port_no)])
            got = await recv_until(sniff, reply[:12])
            assert parse_packet(got).arp is not None
        finally:
            sniff.close()
        # the VM now sends its echo request: a miss with an ICMP key
        up2 = await next_upcall(upcalls, lambda u: u.key.icmp is not None)
        assert up2.key.eth is not None and up2.key.eth.dst == B
        # a flow with a userspace action sends ACTION upcalls carrying our userdata
        key = up2.key
        await dp.install_flow(
            key,
            FlowMask(in_port=0xFFFFFFFF, eth_type=0xFFFF, ipv4=Ipv4Key(proto=0xFF)),
            [Userspace(b"tag")],
        )
        with in_netns(vm):  # the VM sends that frame again: it now hits the flow
            sender = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
        try:
            sender.bind(("eth0", 0))
            sender.send(up2.packet)
        finally:
            sender.close()
        up3 = await next_upcall(upcalls, lambda u: u.kind is UpcallKind.ACTION)
        assert up3.userdata == b"tag" and up3.key.icmp is not None
        await pinger
    finally:
        await dp.close()


def agreement_frames() -> list[bytes]:
    """Frames of every kind our parser handles, to compare with the kernel's extraction."""
    ia, ib = ip4("192.168.62.1"), ip4("192.168.62.2")
    s6, d6 = ip6("fd00::1"), ip6("fd00::2")
    return [
        build.arp(1, A, ia, 0, ib),
        build.arp(2, A, ia, B, ib),
        build.icmp_echo(A, B, ia, ib, 7, 1, b"ping"),
        build.tcp_frame(A, B, ia, ib, 40000, 80, 0x02),
        build.tcp_frame(A, B, ia, ib, 40000, 80, 0x18, b"GET /"),
        build.udp_frame(A, B, ia, ib, 5353, 53, b"query"),
        build.ethernet(
            B,
            A,
            0x86DD,
            build.ipv6(
                s6, d6, 17, build.udp(s6, d6, 1, 2, b"x", v6=True), label=0x54321, tclass=0x20
            ),
        ),
        build.ethernet(
            B, A, 0x86DD, build.ipv6(s6, d6, 58, build.icmpv6(s6, d6, 128, 0, b"\0\1\0\1"))
        ),
        build.ethernet(
            B, A, 0x0800, build.ipv4(ia, ib, 17, build.udp(ia, ib, 7, 8, b"v")), vlan_tci=0x2064
        ),
        build.ethernet(
            B,
            A,
            0x0800,
            build.ipv4(ia, ib, 17, b"\0" * 16, dont_fragment=False, more_fragments=True, ident=9),
        ),
        build.ethernet(B, A, 0x0800, build.ipv4(ia, ib, 17, b"\0" * 16, frag_offset=3, ident=9)),
        build.ethernet(
            B, A, 0x0800, build.ipv4(ia, ib, 1, build.icmp(3, 1, b"\0" * 4), tos=0x28, ttl=9)
        ),
    ]


async def test_parser_agrees_with_kernel_flow_extraction(net: Lab) -> None:
    host = net.ns("h")
    vm = net.vm(host, "p1", "192.168.62.1/24", MAC1)
    dp = await KernelDatapath.create(dp_name(), netns=host)
    try:
        port = await dp.add_netdev_port("p1")
        upcalls = dp.upcalls()
        with in_netns(vm):
            sender = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
        try:
            sender.bind(("eth0", 0))
            for frame in agreement_frames():
                sender.send(frame)
                up = await next_upcall(upcalls, lambda u, f=frame: u.packet[: len(f)] == f)
                ours = parse_packet(up.packet, in_port=port.port_no)
                assert flatten(ours) == flatten(up.key), (frame.hex(), ours, up.key)
        finally:
            sender.close()
    finally:
        await dp.close()


async def test_full_upcall_socket_is_counted_not_fatal(net: Lab) -> None:
    host = net.ns("h")
    vm = net.vm(host, "p1", "192.168.63.1/24", MAC1)
    dp = await KernelDatapath.create(dp_name(), netns=host)
    try:
        port = await dp.add_netdev_port("p1")
        handler = dp._handler  # white box: stop reading and shrink the buffer to overflow it
        assert handler is not None
        loop = asyncio.get_running_loop()
        loop.remove_reader(handler.fileno())
        handler.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1)
        frame = build.udp_frame(A, B, ip4("192.168.63.1"), ip4("192.168.63.2"), 1, 2, b"x" * 200)
        with in_netns(vm):
            sender = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
        try:
            sender.bind(("eth0", 0))
            for _ in range(200):
                sender.send(frame)
        finally:
            sender.close()
        await asyncio.sleep(1.0)
        loop.add_reader(handler.fileno(), dp._on_upcalls)
        up = await next_upcall(dp.upcalls(), lambda u: u.key.in_port == port.port_no)
        assert up.key.udp is not None
        assert dp.upcall_overflows >= 1  # ENOBUFS seen, counted
        assert (await dp.stats()).lost >= 1  # the kernel counted what it dropped
        # and the datapath still works
        await dp.install_flow(up.key, None, [Output(port.port_no)])
        assert len(await dp.dump_flows()) == 1
    finally:
        await dp.close()


async def test_per_vport_upcall_mode(net: Lab) -> None:
    host = net.ns("h")
    vm = net.vm(host, "p1", "192.168.61.1/24", MAC1)
    dp = await KernelDatapath.create(dp_name(), netns=host, per_cpu=False)
    try:
        assert not dp.per_cpu
        port = await dp.add_netdev_port("p1")
        pinger = asyncio.ensure_future(ping(vm, "192.168.61.2", count=1))
        up = await asyncio.wait_for(anext(dp.upcalls()), 20)
        assert up.kind is UpcallKind.MISS and up.key.in_port == port.port_no
        await pinger
    finally:
        await dp.close()


async def test_two_hosts_ping_through_kernel_vxlan(net: Lab) -> None:
    ha, hb = net.ns("ha"), net.ns("hb")
    net.veth(ha, "u0", hb, "u0")
    nsx(ha, "ip", "addr", "add", "10.99.0.1/24", "dev", "u0")
    nsx(hb, "ip", "addr", "add", "10.99.0.2/24", "dev", "u0")
    vm1 = net.vm(ha, "p1", "192.168.50.1/24", MAC1)
    net.vm(hb, "p1", "192.168.50.2/24", MAC2)
    dpa = await KernelDatapath.create(dp_name(), netns=ha)
    dpb = await KernelDatapath.create(dp_name(), netns=hb)
    try:
        flows = {}
        for dp, local, remote in ((dpa, "10.99.0.1", "10.99.0.2"), (dpb, "10.99.0.2", "10.99.0.1")):
            vmp = await dp.add_netdev_port("p1")
            vx = await dp.add_tunnel_port("vxlan_sys_4789", PortType.VXLAN, 4789)
            tun = TunnelKey(tun_id=100, ipv4_dst=ip4(remote), ttl=64)
            out = await dp.install_flow(
                FlowKey(in_port=vmp.port_no, eth=EthernetKey()),
                FlowMask(in_port=0xFFFFFFFF),
                [SetTunnel(tun), Output(vx.port_no)],
            )
            inn = await dp.install_flow(
                FlowKey(
                    in_port=vx.port_no,
                    tunnel=TunnelKey(tun_id=100, ipv4_src=ip4(remote), ipv4_dst=ip4(local), ttl=64),
                    eth=EthernetKey(),
                ),
                FlowMask(
                    in_port=0xFFFFFFFF,
                    tunnel=TunnelKey(
                        tun_id=(1 << 64) - 1, ipv4_src=0xFFFFFFFF, ipv4_dst=0xFFFFFFFF
                    ),
                ),
                [Output(vmp.port_no)],
            )
            flows[dp.name] = (out, inn)
        code, out_text = await ping(vm1, "192.168.50.2", count=3)
        assert code == 0, out_text
        dumped = {f.ufid: f for f in await dpa.dump_flows()}
        out_ufid, in_ufid = flows[dpa.name]
        assert dumped[out_ufid].stats.packets >= 4  # ARP + 3 echo requests
        assert dumped[in_ufid].stats.packets >= 4
        assert dumped[out_ufid].stats.used is not None
        assert (await dpa.stats()).hits >= 8
        # idle expiry through the generic helper
        used = dumped[out_ufid].stats.used
        assert used is not None
        assert await dpa.expire_idle(30.0, now=used + 3600.0) == 2
        assert await dpa.dump_flows() == []
    finally:
        await dpa.close()
        await dpb.close()
