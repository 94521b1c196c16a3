"""A fast attribute packer driven by the same nla_map tables as pyroute2 (datapath.odp.attrs).

The hot requests (flow install, packet execute) are packed here with struct instead of going
through pyroute2's generic encoder, which costs most of a millisecond per flow. The bytes are
identical to pyroute2's (tests/datapath/test_odp_wire.py checks it), and there is still only
one declaration of every attribute.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping, Sequence
from functools import cache
from typing import Protocol, cast

NETLINK_GENERIC = 16
"""The generic netlink protocol number (linux/netlink.h)."""
NLMSG_ERROR = 2
"""nlmsghdr type of an error or ACK message (error code 0)."""
# nlmsghdr flags (linux/netlink.h)
NLM_F_REQUEST = 0x1
NLM_F_ACK = 0x4
NLM_F_ECHO = 0x8
NLM_F_DUMP = 0x300
NLM_F_EXCL = 0x200
NLM_F_CREATE = 0x400
NLMSG_HDR = struct.Struct("=IHHII")
"""struct nlmsghdr: length, type, flags, seq, pid: declared here only."""
NLMSG_ERRNO = struct.Struct("=i")
"""The negative errno that opens an NLMSG_ERROR payload."""
NLA_HDR = struct.Struct("=HH")
"""struct nlattr: length, type."""
OVS_GENL_HDR = struct.Struct("=BBHi")
"""struct genlmsghdr (cmd, version, reserved) followed by struct ovs_header (dp_ifindex)."""
OVS_MSG_MIN = NLMSG_HDR.size + OVS_GENL_HDR.size
"""The shortest OVS message: its three headers."""

_NLA = NLA_HDR
_NLMSG = NLMSG_HDR
_GENL = OVS_GENL_HDR


def unpack_nlmsghdr(data: bytes, off: int = 0) -> tuple[int, int, int, int, int]:
    """(length, type, flags, seq, pid) of the nlmsghdr at `off` of `data`."""
    return cast("tuple[int, int, int, int, int]", NLMSG_HDR.unpack_from(data, off))


def unpack_errno(data: bytes, off: int) -> int:
    """The (negative) errno of the NLMSG_ERROR payload at `off`."""
    code: int = NLMSG_ERRNO.unpack_from(data, off)[0]
    return code


class NlaClass(Protocol):
    """A pyroute2 message or nla class as attrs.py declares it: an attribute table
    (`nla_map` of (id, name, kind) rows) and/or struct `fields` ((name, format) pairs)."""

    nla_map: Sequence[tuple[int, str, str]]
    fields: Sequence[tuple[str, str]]

_SCALARS = {
    "uint8": "=B",
    "uint16": "=H",
    "uint32": "=I",
    "uint64": "=Q",
    "be16": ">H",
    "be32": ">I",
    "be64": ">Q",
}


@cache
def _table(cls: type) -> dict[str, tuple[int, str]]:
    table: dict[str, tuple[int, str]] = {}
    for entry in cast(NlaClass, cls).nla_map:
        attr_id, name, kind = entry[0], entry[1], entry[2]
        table[name] = (attr_id, kind)
    return table


@cache
def _fields(cls: type) -> tuple[tuple[str, str], ...]:
    return tuple(cast(NlaClass, cls).fields)


def _pack_struct(cls: type, value: Mapping[str, object]) -> bytes:
    out = bytearray()
    for name, fmt in _fields(cls):
        if fmt.endswith("x"):
            out += bytes(int(fmt[:-1] or 1))
        else:
            out += struct.pack(fmt, value[name])
    return bytes(out)


def _nested(value: object) -> list[list[object]]:
    """The [name, value] pairs of a nested attribute value ({"attrs": [...]})."""
    return cast("Mapping[str, list[list[object]]]", value)["attrs"]


def _pack_value(cls: type, kind: str, value: object) -> bytes:
    fmt = _SCALARS.get(kind)
    if fmt is not None:
        return struct.pack(fmt, value)
    if kind == "flag":
        return b""
    if kind == "cdata":
        return bytes(cast(bytes, value))
    if kind == "asciiz":
        return str(value).encode() + b"\0"
    if kind == "array(uint32)":
        items = cast("Sequence[int]", value)
        return struct.pack(f"={len(items)}I", *items)
    if kind == "recursive":
        return pack_attrs(cls, _nested(value))
    sub: type = getattr(cls, kind)
    if getattr(sub, "nla_map", None):
        return pack_attrs(sub, _nested(value))
    return _pack_struct(sub, cast("Mapping[str, object]", value))


def pack_attrs(cls: type, attrs: Sequence[Sequence[object]]) -> bytes:
    """The netlink attribute stream of ``attrs`` ([name, value] pairs) per ``cls.nla_map``."""
    out = bytearray()
    table = _table(cls)
    for name, value in attrs:
        attr_id, kind = table[str(name)]
        payload = _pack_value(cls, kind, value)
        out += _NLA.pack(4 + len(payload), attr_id)
        out += payload
        out += bytes(-len(payload) % 4)
    return bytes(out)


def pack_message(
    cls: type,
    family_id: int,
    flags: int,
    seq: int,
    cmd: int,
    version: int,
    dp_ifindex: int,
    attrs: Sequence[Sequence[object]],
) -> bytes:
    """A whole OVS generic netlink request: nlmsghdr, genlmsghdr, ovs_header, attributes."""
    body = _GENL.pack(cmd, version, 0, dp_ifindex) + pack_attrs(cls, attrs)
    return _NLMSG.pack(_NLMSG.size + len(body), family_id, flags, seq, 0) + body
