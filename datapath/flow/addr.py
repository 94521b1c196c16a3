"""Address helpers: flow values hold MACs and IP addresses as plain ints (cheap to mask)."""

from __future__ import annotations

import ipaddress

MAC_MASK = (1 << 48) - 1
IPV4_MASK = (1 << 32) - 1
IPV6_MASK = (1 << 128) - 1


def mac(text: str) -> int:
    """Parse 'aa:bb:cc:dd:ee:ff' into a 48-bit int."""
    parts = text.split(":")
    if len(parts) != 6:
        raise ValueError(f"bad MAC address {text!r}")
    return int("".join(f"{int(p, 16):02x}" for p in parts), 16)


def mac_str(value: int) -> str:
    """Format a 48-bit int as 'aa:bb:cc:dd:ee:ff'."""
    return ":".join(f"{b:02x}" for b in value.to_bytes(6, "big"))


def ip4(text: str) -> int:
    """Parse a dotted IPv4 address into a 32-bit int."""
    return int(ipaddress.IPv4Address(text))


def ip4_str(value: int) -> str:
    """Format a 32-bit int as a dotted IPv4 address."""
    return str(ipaddress.IPv4Address(value))


def ip6(text: str) -> int:
    """Parse an IPv6 address into a 128-bit int."""
    return int(ipaddress.IPv6Address(text))


def ip6_str(value: int) -> str:
    """Format a 128-bit int as an IPv6 address."""
    return str(ipaddress.IPv6Address(value))
