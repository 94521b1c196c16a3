"""Pure action execution for the userspace datapath: a frame and actions in, emissions out.

Header rewrites keep the IPv4 header checksum and the TCP/UDP checksums correct. The set of
settable headers is the kernel's: Ethernet, IPv4, IPv6, TCP, UDP, tunnel (and skb mark).
"""

from __future__ import annotations

import errno
import struct
from collections.abc import Sequence
from dataclasses import dataclass, fields

from datapath.api import DatapathError
from datapath.flow.actions import (
    Action,
    Drop,
    Output,
    PopVlan,
    PushVlan,
    SetField,
    SetMasked,
    SetTunnel,
    Userspace,
)
from datapath.flow.key import (
    ETH_TYPE_IPV4,
    ETH_TYPE_IPV6,
    EthernetKey,
    Header,
    Ipv4Key,
    Ipv6Key,
    TcpKey,
    TunnelKey,
    UdpKey,
)
from datapath.packet.checksum import checksum, pseudo4, pseudo6

SETTABLE = (EthernetKey, Ipv4Key, Ipv6Key, TcpKey, UdpKey)
_U16 = struct.Struct("!H")


def _u16(buf: bytes | bytearray, off: int) -> int:
    """The big-endian 16-bit field at `off`."""
    value: int = _U16.unpack_from(buf, off)[0]
    return value


@dataclass(frozen=True, slots=True)
class Emit:
    """One result of executing actions: a frame to a port, or to userspace (port None)."""

    port: int | None
    frame: bytes
    tunnel: TunnelKey | None = None
    userdata: bytes | None = None


def validate(actions: Sequence[Action]) -> None:
    """Reject actions the datapath cannot run (as the kernel would, with EINVAL)."""
    for action in actions:
        if isinstance(action, (SetField, SetMasked)):
            if not isinstance(action.header, SETTABLE):
                raise DatapathError(f"cannot set {type(action.header).__name__}", errno.EINVAL)
            if isinstance(action.header, Ipv4Key):
                _check_ip_immutable(action)
        elif isinstance(action, Drop) and len(actions) > 1:
            raise DatapathError("drop must be the only action", errno.EINVAL)


def _check_ip_immutable(action: SetField | SetMasked) -> None:
    h = action.header
    assert isinstance(h, Ipv4Key)
    if isinstance(action, SetMasked):
        m = action.mask
        assert isinstance(m, Ipv4Key)
        if m.proto or m.frag:
            raise DatapathError("set_masked may not change ip proto or frag", errno.EINVAL)


def _merge(old: Header, new: Header, mask: Header | None) -> Header:
    if mask is None:
        return new
    values: dict[str, int] = {}
    for f in fields(old):
        o: int = getattr(old, f.name)
        n: int = getattr(new, f.name)
        m: int = getattr(mask, f.name)
        values[f.name] = (o & ~m) | (n & m)
    return type(old)(**values)


def _l3(frame: bytearray) -> tuple[int, int]:
    """(offset of L3, eth_type) of a frame."""
    eth_type = _u16(frame, 12)
    if eth_type in (0x8100, 0x88A8) and len(frame) >= 18:
        return 18, _u16(frame, 16)
    return 14, eth_type


def _fix_l4(frame: bytearray, l3: int, v6: bool) -> None:
    """Recompute the TCP or UDP checksum of an unfragmented packet."""
    if v6:
        proto, start = frame[l3 + 6], l3 + 40
        length = _u16(frame, l3 + 4)
        src = int.from_bytes(frame[l3 + 8 : l3 + 24], "big")
        dst = int.from_bytes(frame[l3 + 24 : l3 + 40], "big")
        pseudo = pseudo6(src, dst, proto, length)
    else:
        if _u16(frame, l3 + 6) & 0x3FFF:
            return  # a fragment: its L4 checksum covers data we do not have
        proto = frame[l3 + 9]
        ihl = (frame[l3] & 0x0F) * 4
        start = l3 + ihl
        length = _u16(frame, l3 + 2) - ihl
        src = int.from_bytes(frame[l3 + 12 : l3 + 16], "big")
        dst = int.from_bytes(frame[l3 + 16 : l3 + 20], "big")
        pseudo = pseudo4(src, dst, proto, length)
    if proto == 6:
        at = start + 16
    elif proto == 17:
        at = start + 6
        if not v6 and _u16(frame, at) == 0:
            return  # IPv4 UDP without checksum stays without
    else:
        return
    end = start + length
    if length < 0 or end > len(frame) or at + 2 > end:
        return
    frame[at : at + 2] = b"\0\0"
    csum = checksum(frame[start:end], pseudo)
    if proto == 17 and csum == 0:
        csum = 0xFFFF
    _U16.pack_into(frame, at, csum)


def complete_checksum(frame: bytearray) -> None:
    """Fill in the TCP/UDP checksum of a frame whose checksum was left to offload."""
    l3, eth_type = _l3(frame)
    if eth_type == ETH_TYPE_IPV4 and len(frame) >= l3 + 20:
        _fix_l4(frame, l3, False)
    elif eth_type == ETH_TYPE_IPV6 and len(frame) >= l3 + 40:
        _fix_l4(frame, l3, True)


def _set_header(frame: bytearray, header: Header, mask: Header | None) -> None:
    l3, eth_type = _l3(frame)
    if isinstance(header, EthernetKey):
        old_e = EthernetKey(int.from_bytes(frame[6:12], "big"), int.from_bytes(frame[0:6], "big"))
        e = _merge(old_e, header, mask)
        assert isinstance(e, EthernetKey)
        frame[0:6] = e.dst.to_bytes(6, "big")
        frame[6:12] = e.src.to_bytes(6, "big")
        return
    if isinstance(header, Ipv4Key):
        if eth_type != ETH_TYPE_IPV4 or len(frame) < l3 + 20:
            return
        old4 = Ipv4Key(
            int.from_bytes(frame[l3 + 12 : l3 + 16], "big"),
            int.from_bytes(frame[l3 + 16 : l3 + 20], "big"),
            frame[l3 + 9],
            frame[l3 + 1],
            frame[l3 + 8],
            0,
        )
        n4 = _merge(old4, header, mask)
        assert isinstance(n4, Ipv4Key)
        frame[l3 + 1] = n4.tos & 0xFF
        frame[l3 + 8] = n4.ttl & 0xFF
        frame[l3 + 12 : l3 + 16] = n4.src.to_bytes(4, "big")
        frame[l3 + 16 : l3 + 20] = n4.dst.to_bytes(4, "big")
        ihl = (frame[l3] & 0x0F) * 4
        frame[l3 + 10 : l3 + 12] = b"\0\0"
        _U16.pack_into(frame, l3 + 10, checksum(frame[l3 : l3 + ihl]))
        _fix_l4(frame, l3, False)
        return
    if isinstance(header, Ipv6Key):
        if eth_type != ETH_TYPE_IPV6 or len(frame) < l3 + 40:
            return
        first = int.from_bytes(frame[l3 : l3 + 4], "big")
        old6 = Ipv6Key(
            int.from_bytes(frame[l3 + 8 : l3 + 24], "big"),
            int.from_bytes(frame[l3 + 24 : l3 + 40], "big"),
            first & 0xFFFFF,
            frame[l3 + 6],
            (first >> 20) & 0xFF,
            frame[l3 + 7],
            0,
        )
        n6 = _merge(old6, header, mask)
        assert isinstance(n6, Ipv6Key)
        first = (6 << 28) | ((n6.tclass & 0xFF) << 20) | (n6.label & 0xFFFFF)
        frame[l3 : l3 + 4] = first.to_bytes(4, "big")
        frame[l3 + 7] = n6.hlimit & 0xFF
        frame[l3 + 8 : l3 + 24] = n6.src.to_bytes(16, "big")
        frame[l3 + 24 : l3 + 40] = n6.dst.to_bytes(16, "big")
        _fix_l4(frame, l3, True)
        return
    if isinstance(header, (TcpKey, UdpKey)):
        if eth_type == ETH_TYPE_IPV4 and len(frame) >= l3 + 20:
            start, proto, v6 = l3 + (frame[l3] & 0x0F) * 4, frame[l3 + 9], False
        elif eth_type == ETH_TYPE_IPV6 and len(frame) >= l3 + 40:
            start, proto, v6 = l3 + 40, frame[l3 + 6], True
        else:
            return
        if proto != (6 if isinstance(header, TcpKey) else 17) or len(frame) < start + 4:
            return
        sport, dport = _u16(frame, start), _u16(frame, start + 2)
        old_p = type(header)(sport, dport)
        n_p = _merge(old_p, header, mask)
        assert isinstance(n_p, (TcpKey, UdpKey))
        struct.pack_into("!HH", frame, start, n_p.src & 0xFFFF, n_p.dst & 0xFFFF)
        _fix_l4(frame, l3, v6)


def execute(
    frame: bytes | bytearray,
    actions: Sequence[Action],
    tunnel: TunnelKey | None = None,
) -> list[Emit]:
    """Run ``actions`` on ``frame``; returns the frames to send, in order."""
    out: list[Emit] = []
    buf: bytearray | None = None  # copied on first write
    data: bytes | bytearray = frame
    for action in actions:
        if isinstance(action, Output):
            out.append(Emit(action.port, bytes(data), tunnel))
        elif isinstance(action, SetTunnel):
            tunnel = action.tunnel
        elif isinstance(action, (SetField, SetMasked)):
            if isinstance(action.header, TunnelKey):
                tunnel = action.header
                continue
            if buf is None:
                buf = bytearray(data)
                data = buf
            _set_header(buf, action.header, action.mask if isinstance(action, SetMasked) else None)
        elif isinstance(action, PushVlan):
            tag = struct.pack("!HH", action.tpid, action.tci & 0xEFFF)
            buf = bytearray(data[:12]) + tag + bytearray(data[12:])
            data = buf
        elif isinstance(action, PopVlan):
            if len(data) >= 18 and _u16(data, 12) in (0x8100, 0x88A8):
                buf = bytearray(data[:12]) + bytearray(data[16:])
                data = buf
        elif isinstance(action, Userspace):
            out.append(Emit(None, bytes(data), tunnel, action.userdata))
        elif isinstance(action, Drop):
            return out
    return out
