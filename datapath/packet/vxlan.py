"""VXLAN (RFC 7348) header: 8 bytes, flags with the I bit, then a 24-bit VNI."""

from __future__ import annotations

import struct

VXLAN_PORT = 4789
_HDR = struct.Struct("!II")
_FLAG_I = 0x08000000


class VxlanError(ValueError):
    """A datagram that is not a valid VXLAN packet."""


def encap(vni: int, frame: bytes) -> bytes:
    """The UDP payload carrying ``frame`` on VNI ``vni``."""
    return _HDR.pack(_FLAG_I, (vni & 0xFFFFFF) << 8) + frame


def decap(datagram: bytes | memoryview) -> tuple[int, bytes | memoryview]:
    """(vni, inner frame) of a VXLAN UDP payload."""
    if len(datagram) < 8 + 14:
        raise VxlanError(f"VXLAN datagram of {len(datagram)} bytes is too short")
    flags, vni = _HDR.unpack_from(datagram, 0)
    if not flags & _FLAG_I:
        raise VxlanError("VXLAN header without the I flag")
    return vni >> 8, datagram[8:]
