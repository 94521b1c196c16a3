"""Internet checksums (RFC 1071) and the IPv4/IPv6 pseudo-header sums for TCP and UDP."""

from __future__ import annotations

import array
import sys

_SWAP = sys.byteorder == "little"


def ones_sum(data: bytes | bytearray | memoryview, start: int = 0) -> int:
    """The 16-bit one's-complement sum of ``data`` (odd lengths padded with zero)."""
    b = bytes(data)
    if len(b) & 1:
        b += b"\0"
    words = array.array("H", b)
    if _SWAP:
        words.byteswap()
    total = start + sum(words)
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return total


def checksum(data: bytes | bytearray | memoryview, start: int = 0) -> int:
    """The Internet checksum of ``data`` (plus a partial sum ``start``)."""
    return ~ones_sum(data, start) & 0xFFFF


def pseudo4(src: int, dst: int, proto: int, length: int) -> int:
    """Partial sum of the IPv4 pseudo-header."""
    return (src >> 16) + (src & 0xFFFF) + (dst >> 16) + (dst & 0xFFFF) + proto + length


def pseudo6(src: int, dst: int, proto: int, length: int) -> int:
    """Partial sum of the IPv6 pseudo-header."""
    total = proto + (length >> 16) + (length & 0xFFFF)
    for addr in (src, dst):
        for shift in range(0, 128, 16):
            total += (addr >> shift) & 0xFFFF
    return total
