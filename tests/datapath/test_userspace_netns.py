"""The userspace datapath on real namespaces: VXLAN between two hosts, interop with a kernel
VXLAN device, upcalls on miss, packet execute, flow stats, expiry and flush."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Iterator

import pytest

from datapath.api import PortEventKind, PortType, UpcallKind
from datapath.flow import FlowKey, FlowMask, Output, SetTunnel, TunnelKey
from datapath.flow.addr import ip4, mac
from datapath.netns import in_netns
from datapath.packet import build
from datapath.packet.parse import parse_packet
from datapath.userspace import UserspaceDatapath
from tests.datapath.netns import Lab, lab, need_root_netns, next_upcall, nsx, ping

pytestmark = pytest.mark.netns

VNI = 100
MAC1, MAC2 = "02:00:00:00:01:01", "02:00:00:00:01:02"


@pytest.fixture
def net() -> Iterator[Lab]:
    need_root_netns()
    with lab() as the_lab:
        yield the_lab


@pytest.fixture
async def closing() -> AsyncIterator[list[UserspaceDatapath]]:
    dps: list[UserspaceDatapath] = []
    yield dps
    for dp in dps:
        await dp.close()


def port_mask() -> FlowMask:
    return FlowMask(in_port=0xFFFFFFFF)


def tunnel_in_mask() -> FlowMask:
    return FlowMask(in_port=0xFFFFFFFF, tunnel=TunnelKey(tun_id=0xFFFFFFFFFFFFFFFF))


async def vxlan_host(
    dp: UserspaceDatapath, vm_port: str, remote: str
) -> tuple[int, int, list[bytes]]:
    """VM port <-> VXLAN flows on one host: everything from the VM goes to ``remote``."""
    vm = await dp.add_netdev_port(vm_port)
    vx = await dp.add_tunnel_port("vx", PortType.VXLAN, 4789)
    out_key = FlowKey(in_port=vm.port_no)
    tun = TunnelKey(tun_id=VNI, ipv4_dst=ip4(remote), ttl=64)
    u1 = await dp.install_flow(out_key, port_mask(), [SetTunnel(tun), Output(vx.port_no)])
    in_key = FlowKey(in_port=vx.port_no, tunnel=TunnelKey(tun_id=VNI))
    u2 = await dp.install_flow(in_key, tunnel_in_mask(), [Output(vm.port_no)])
    return vm.port_no, vx.port_no, [u1, u2]


async def test_two_hosts_ping_through_vxlan(net: Lab, closing: list[UserspaceDatapath]) -> None:
    ha, hb = net.ns("ha"), net.ns("hb")
    net.veth(ha, "u0", hb, "u0")
    nsx(ha, "ip", "addr", "add", "10.99.0.1/24", "dev", "u0")
    nsx(hb, "ip", "addr", "add", "10.99.0.2/24", "dev", "u0")
    vm1 = net.vm(ha, "p1", "192.168.50.1/24", MAC1)
    vm2 = net.vm(hb, "p1", "192.168.50.2/24", MAC2)
    dpa = UserspaceDatapath("dpa", netns=ha)
    dpb = UserspaceDatapath("dpb", netns=hb)
    closing.extend([dpa, dpb])
    _, _, flows_a = await vxlan_host(dpa, "p1", "10.99.0.2")
    await vxlan_host(dpb, "p1", "10.99.0.1")
    code, out = await ping(vm1, "192.168.50.2")
    assert code == 0, out
    flows = {f.ufid: f for f in await dpa.dump_flows()}
    assert flows[flows_a[0]].stats.packets >= 4  # ARP + 3 echo requests
    assert flows[flows_a[1]].stats.packets >= 4
    assert flows[flows_a[0]].stats.used is not None
    stats = await dpa.stats()
    assert stats.hits >= 8 and stats.flows == 2
    ports = {p.name: p for p in await dpa.list_ports()}
    assert ports["vx"].stats.tx_packets >= 4 and ports["vx"].type is PortType.VXLAN
    del vm2


async def test_kernel_vxlan_device_interoperates(
    net: Lab, closing: list[UserspaceDatapath]
) -> None:
    hk, hb = net.ns("hk"), net.ns("hb")
    net.veth(hk, "u0", hb, "u0")
    nsx(hk, "ip", "addr", "add", "10.99.0.1/24", "dev", "u0")
    nsx(hb, "ip", "addr", "add", "10.99.0.2/24", "dev", "u0")
    nsx(
        hk,
        "ip",
        "link",
        "add",
        "vx0",
        "type",
        "vxlan",
        "id",
        str(VNI),
        "remote",
        "10.99.0.2",
        "local",
        "10.99.0.1",
        "dstport",
        "4789",
    )
    nsx(hk, "ip", "link", "set", "vx0", "address", MAC1)
    nsx(hk, "ip", "addr", "add", "192.168.50.1/24", "dev", "vx0")
    nsx(hk, "ip", "link", "set", "vx0", "up")
    vm2 = net.vm(hb, "p1", "192.168.50.2/24", MAC2)
    dpb = UserspaceDatapath("dpb", netns=hb)
    closing.append(dpb)
    await vxlan_host(dpb, "p1", "10.99.0.1")
    code, out = await ping(vm2, "192.168.50.1")
    assert code == 0, out
    code, out = await ping(hk, "192.168.50.2")
    assert code == 0, out


def sniffer(ns: str, ifname: str) -> socket.socket:
    with in_netns(ns):
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
        s.bind((ifname, 3))
    s.setblocking(False)
    return s


async def recv_until(sock: socket.socket, want: bytes, timeout: float = 5.0) -> bytes:
    loop = asyncio.get_running_loop()
    async with asyncio.timeout(timeout):
        while True:
            data = await loop.sock_recv(sock, 65536)
            if want in data:
                return data


async def test_upcall_on_miss_then_execute(net: Lab, closing: list[UserspaceDatapath]) -> None:
    host = net.ns("h")
    vm = net.vm(host, "p1", "192.168.60.1/24", MAC1)
    dp = UserspaceDatapath("dp", netns=host)
    closing.append(dp)
    events = dp.port_events()
    pending = asyncio.ensure_future(anext(events))
    port = await dp.add_netdev_port("p1")
    event = await asyncio.wait_for(pending, 5)
    assert event.kind is PortEventKind.ADDED and event.port.port_no == port.port_no
    # The VM ARPs for its peer: no flow, so the datapath must send it up with its key.
    pinger = asyncio.ensure_future(ping(vm, "192.168.60.2", count=2))
    upcalls = dp.upcalls()
    up = await next_upcall(upcalls, lambda u: u.key.arp is not None)
    assert up.kind is UpcallKind.MISS
    assert up.key.in_port == port.port_no
    assert up.key.arp is not None and up.key.arp.tip == ip4("192.168.60.2")
    assert up.key == parse_packet(up.packet, in_port=port.port_no)
    assert (await dp.stats()).missed >= 1
    # Answer the ARP by executing a reply out of the VM's port: the VM sends its echo request.
    reply = build.arp_reply(up.packet, mac(MAC2))
    sniff = sniffer(vm, "eth0")
    try:
        await dp.execute(reply, [Output(port.port_no)])
        got = await recv_until(sniff, reply[:12])
        assert parse_packet(got).arp is not None
        up2 = await next_upcall(upcalls, lambda u: u.key.icmp is not None)
        assert up2.key.eth is not None and up2.key.eth.dst == mac(MAC2)
    finally:
        sniff.close()
        await pinger
    await dp.remove_port(port.port_no)
    assert await dp.list_ports() == []
    await events.aclose()


async def test_flow_stats_expiry_and_flush(net: Lab, closing: list[UserspaceDatapath]) -> None:
    host = net.ns("h")
    vm1 = net.vm(host, "p1", "192.168.70.1/24", MAC1)
    net.vm(host, "p2", "192.168.70.2/24", MAC2)
    dp = UserspaceDatapath("dp", netns=host)
    closing.append(dp)
    p1 = await dp.add_netdev_port("p1")
    p2 = await dp.add_netdev_port("p2")
    u1 = await dp.install_flow(FlowKey(in_port=p1.port_no), port_mask(), [Output(p2.port_no)])
    await dp.install_flow(FlowKey(in_port=p2.port_no), port_mask(), [Output(p1.port_no)])
    u3 = await dp.install_flow(FlowKey(in_port=99), port_mask(), [])  # never used
    code, out = await ping(vm1, "192.168.70.2", count=2)
    assert code == 0, out
    flows = {f.ufid: f for f in await dp.dump_flows()}
    assert flows[u1].stats.packets >= 3 and flows[u1].stats.bytes > 0
    assert flows[u3].stats.used is None
    used = flows[u1].stats.used
    assert used is not None
    assert await dp.expire_idle(60.0, now=used + 1.0) == 1  # only the unused flow
    assert u3 not in {f.ufid for f in await dp.dump_flows()}
    assert await dp.expire_idle(60.0, now=used + 120.0) == 2
    assert await dp.dump_flows() == []
    await dp.install_flow(FlowKey(in_port=p1.port_no), port_mask(), [Output(p2.port_no)])
    await dp.flush_flows()
    assert (await dp.stats()).flows == 0


async def test_internal_port_is_a_tap(net: Lab, closing: list[UserspaceDatapath]) -> None:
    host = net.ns("h")
    dp = UserspaceDatapath("dp", netns=host)
    closing.append(dp)
    port = await dp.add_internal_port("dpint0")
    assert "dpint0" in nsx(host, "ip", "link", "show", "dpint0")
    nsx(host, "ip", "addr", "add", "192.168.80.1/24", "dev", "dpint0")
    nsx(host, "ip", "link", "set", "dpint0", "up")
    upcalls = dp.upcalls()
    pinger = asyncio.ensure_future(ping(host, "192.168.80.2", count=1))
    up = await next_upcall(upcalls, lambda u: u.key.arp is not None)
    assert up.key.in_port == port.port_no
    await pinger
