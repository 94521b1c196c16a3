"""The replicated learned-state tables, their key and value shapes declared once.

"net.macs": ORMap(LWWRegister), key (bridge_id, vlan, mac) -> {"port_id", "host_id"}.
"net.arps": ORMap(LWWRegister), key (router_id, ip) -> mac. The ints are plain ints.
Writers build keys and values with mac_key/mac_value/arp_key; readers take them apart
with parse_mac_entry/parse_arp_entry, which skip malformed entries (a peer's bad write
never crashes a reader).
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import NamedTuple

from crdt import LWWRegister, ORMap

MACS_TABLE = "net.macs"
ARPS_TABLE = "net.arps"


class MacEntry(NamedTuple):
    """One learned MAC: on (bridge, vlan), `mac` is behind `port_id`, learned by `host_id`."""

    bridge_id: str
    vlan: int
    mac: int
    port_id: str
    host_id: str

    @property
    def key(self) -> tuple[str, int, int]:
        """Its net.macs key."""
        return mac_key(self.bridge_id, self.vlan, self.mac)


class ArpEntry(NamedTuple):
    """One learned ARP binding of a router: `ip` is at `mac`."""

    router_id: str
    ip: int
    mac: int


def new_state_table() -> ORMap:
    """An empty learned-state table."""
    return ORMap(LWWRegister)


def mac_key(bridge_id: str, vlan: int, mac: int) -> tuple[str, int, int]:
    """The net.macs key of a MAC on (bridge, vlan)."""
    return (bridge_id, vlan, mac)


def mac_value(port_id: str, host_id: str) -> dict[str, str]:
    """The net.macs value: where the MAC is and who learned it."""
    return {"port_id": port_id, "host_id": host_id}


def arp_key(router_id: str, ip: int) -> tuple[str, int]:
    """The net.arps key of a router's neighbour `ip` (the value is the MAC as an int)."""
    return (router_id, ip)


def parse_mac_key(key: Hashable) -> tuple[str, int, int] | None:
    """(bridge, vlan, mac) of a net.macs key, None when it is not one."""
    if isinstance(key, tuple) and len(key) == 3:
        bridge, vlan, mac = key
        if isinstance(bridge, str) and isinstance(vlan, int) and isinstance(mac, int):
            return (bridge, vlan, mac)
    return None


def parse_mac_entry(key: Hashable, value: object) -> MacEntry | None:
    """A net.macs entry, None when malformed (a missing or malformed host reads as "")."""
    k = parse_mac_key(key)
    if k is None or not isinstance(value, dict):
        return None
    port, host = value.get("port_id"), value.get("host_id")
    if not isinstance(port, str):
        return None
    return MacEntry(k[0], k[1], k[2], port, host if isinstance(host, str) else "")


def parse_arp_key(key: Hashable) -> tuple[str, int] | None:
    """(router, ip) of a net.arps key, None when it is not one."""
    if isinstance(key, tuple) and len(key) == 2:
        router, ip = key
        if isinstance(router, str) and isinstance(ip, int):
            return (router, ip)
    return None


def parse_arp_entry(key: Hashable, value: object) -> ArpEntry | None:
    """A net.arps entry, None when malformed."""
    k = parse_arp_key(key)
    if k is None or not isinstance(value, int):
        return None
    return ArpEntry(k[0], k[1], value)


def mac_entries(values: Mapping[Hashable, object]) -> list[MacEntry]:
    """The well-formed entries of net.macs' value()."""
    out = []
    for key, value in values.items():
        entry = parse_mac_entry(key, value)
        if entry is not None:
            out.append(entry)
    return out


def arp_entries(values: Mapping[Hashable, object]) -> list[ArpEntry]:
    """The well-formed entries of net.arps' value()."""
    out = []
    for key, value in values.items():
        entry = parse_arp_entry(key, value)
        if entry is not None:
            out.append(entry)
    return out
