"""rtnetlink helpers for the kernel backend: flow-based (collect-metadata) tunnel devices.

Open vSwitch's first choice for a VXLAN port is such a device attached as a NETDEV vport;
the compat VPORT type VXLAN is the fallback.
"""

from __future__ import annotations

import socket

from pyroute2 import AsyncIPRoute

from datapath.api import DatapathError
from datapath.netns import in_netns
from datapath.odp.nlmsg import RouteSocket

NETLINK_ROUTE = 0


async def _iproute(netns: str | None) -> RouteSocket:
    with in_netns(netns):
        raw = socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, NETLINK_ROUTE)
    ipr: RouteSocket = AsyncIPRoute(use_socket=raw)
    await ipr.setup_endpoint()
    await ipr.bind()
    return ipr


async def create_vxlan_device(name: str, dst_port: int, netns: str | None) -> int:
    """Create and bring up an external (collect-metadata), non-learning VXLAN device."""
    ipr = await _iproute(netns)
    try:
        await ipr.link(
            "add",
            ifname=name,
            kind="vxlan",
            vxlan_port=dst_port,
            vxlan_collect_metadata=1,
            vxlan_learning=0,
        )
        (index,) = await ipr.link_lookup(ifname=name)
        await ipr.link("set", index=index, state="up", mtu=1500)
        return int(index)
    except Exception as exc:
        raise DatapathError(f"cannot create vxlan device {name}: {exc}") from exc
    finally:
        ipr.close()


async def delete_device(name: str, netns: str | None) -> None:
    """Delete a network device if it exists."""
    ipr = await _iproute(netns)
    try:
        found = await ipr.link_lookup(ifname=name)
        for index in found:
            await ipr.link("del", index=index)
    finally:
        ipr.close()
