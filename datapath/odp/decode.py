"""Whole-message decoders for what the kernel sends us: upcalls and flow dump entries.

Every failure (truncated netlink, bad attribute lengths, values out of range) comes out as
DecodeError with a reason; callers count it and log one line, and go on.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ParamSpec, TypeVar

from datapath.api import Flow, FlowStats, Upcall, UpcallKind
from datapath.flow.mask import FlowMask
from datapath.odp import attrs as A
from datapath.odp.convert import DecodeError, decode_actions, decode_key, decode_mask
from datapath.odp.nlmsg import NlMsg, field, get_attr, int_field
from datapath.odp.wire import OVS_MSG_MIN

_MIN = OVS_MSG_MIN  # nlmsghdr + genlmsghdr + ovs_header
P = ParamSpec("P")
R = TypeVar("R")


def _parse(cls: type, raw: bytes) -> NlMsg:
    if len(raw) < _MIN:
        raise DecodeError(f"message of {len(raw)} bytes is shorter than its headers")
    length = int.from_bytes(raw[0:4], "little")
    if length < _MIN or length > len(raw):
        raise DecodeError(f"netlink length {length} does not fit a {len(raw)}-byte buffer")
    try:
        msg: NlMsg = cls(raw[:length])
        msg.decode()
    except DecodeError:
        raise
    except Exception as exc:
        raise DecodeError(f"undecodable {cls.__name__}: {type(exc).__name__}: {exc}") from exc
    return msg


def _wrap(what: str, fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
    try:
        return fn(*args, **kwargs)
    except DecodeError:
        raise
    except Exception as exc:
        raise DecodeError(f"bad {what}: {type(exc).__name__}: {exc}") from exc


def upcall_from_bytes(raw: bytes) -> Upcall:
    """An Upcall from one ovs_packet netlink message (MISS or ACTION)."""
    msg = _parse(A.ovs_packet_msg, raw)
    packet = _wrap("packet attribute", get_attr, msg, "OVS_PACKET_ATTR_PACKET")
    key = _wrap("key attribute", get_attr, msg, "OVS_PACKET_ATTR_KEY")
    if not isinstance(packet, (bytes, bytearray)) or key is None:
        raise DecodeError("upcall without packet or key")
    if len(packet) < 14:
        raise DecodeError(f"upcall packet of {len(packet)} bytes")
    cmd = field(msg, "cmd")
    if cmd not in (A.OVS_PACKET_CMD_MISS, A.OVS_PACKET_CMD_ACTION):
        raise DecodeError(f"ovs_packet command {cmd} is not an upcall")
    kind = UpcallKind.ACTION if cmd == A.OVS_PACKET_CMD_ACTION else UpcallKind.MISS
    userdata = _wrap("userdata", get_attr, msg, "OVS_PACKET_ATTR_USERDATA")
    if userdata is not None and not isinstance(userdata, (bytes, bytearray)):
        raise DecodeError("userdata is not bytes")
    return Upcall(
        kind,
        _wrap("flow key", decode_key, key),
        bytes(packet),
        None if userdata is None else bytes(userdata),
    )


def _int(value: object) -> int:
    """An integer attribute as pyroute2 decodes it (int, or anything int() takes)."""
    if isinstance(value, int | str | bytes | bytearray):
        return int(value)
    raise TypeError(f"not an integer: {type(value).__name__}")


def stats_from_msg(msg: NlMsg) -> FlowStats:
    """The counters of a decoded ovs_flow message (also of replies that omit key/actions)."""
    stats = _wrap("stats", get_attr, msg, "OVS_FLOW_ATTR_STATS")
    used = _wrap("used", get_attr, msg, "OVS_FLOW_ATTR_USED")
    tcp_flags = _wrap("tcp flags", get_attr, msg, "OVS_FLOW_ATTR_TCP_FLAGS")
    try:
        return FlowStats(
            int_field(stats, "n_packets") if stats is not None else 0,
            int_field(stats, "n_bytes") if stats is not None else 0,
            _int(used) / 1000.0 if used else None,
            _int(tcp_flags or 0),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise DecodeError(f"bad flow stats: {exc}") from exc


def flow_from_msg(msg: NlMsg) -> Flow:
    """A Flow from one decoded ovs_flow message of a dump."""
    ufid = _wrap("ufid", get_attr, msg, "OVS_FLOW_ATTR_UFID")
    key = _wrap("key", get_attr, msg, "OVS_FLOW_ATTR_KEY")
    if not isinstance(ufid, (bytes, bytearray)) or key is None:
        raise DecodeError("flow without UFID or key")
    mask = _wrap("mask", get_attr, msg, "OVS_FLOW_ATTR_MASK")
    acts = _wrap("actions", get_attr, msg, "OVS_FLOW_ATTR_ACTIONS")
    flow_stats = stats_from_msg(msg)
    return Flow(
        bytes(ufid),
        _wrap("flow key", decode_key, key),
        _wrap("flow mask", decode_mask, mask) if mask is not None else FlowMask(),
        _wrap("flow actions", decode_actions, acts) if acts is not None else (),
        flow_stats,
    )


def flow_from_bytes(raw: bytes) -> Flow:
    """A Flow from one raw ovs_flow netlink message."""
    return flow_from_msg(_parse(A.ovs_flow_msg, raw))
