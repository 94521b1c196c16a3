"""The state message: conntrack and NAT entries one simulation created, sent to the peers
that may see the connection's other packets ahead of its first data packet (MidoNet's way:
over the tunnel with the reserved tunnel key 0xFFFFFF). The stores keep rows in the same
encoding, one entry per message.

Layout (network byte order; docs/sessions.md has the table)::

    magic "VS" | version 1 | flags 0 | ingress port (16, UUID) | E | C | N (u8 each)
    E x egress port (16) | C x conntrack (29) | N x NAT (42)
    conntrack: device (16) | proto | src ip (4) | src port (2) | dst ip (4) | dst port (2)
    NAT:       device (16) | kind | proto | original ip,port,ip,port (12) | translated (12)

Bounded (at most MAX_EGRESS, MAX_CONN, MAX_NAT): a message always fits one tunnel packet.
:func:`decode` raises :class:`StateDecodeError` and nothing else, whatever the bytes.
"""

from __future__ import annotations

import functools
import struct
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from services.session.entries import ConnEntry, NatEntry, SessionEntry, SessionKey, SessionPorts
from services.session.keys import TRACKED_PROTOS, ConnKey, FlowTuple
from services.session.nat import NatBinding, NatDirection, NatKind

STATE_TUNNEL_KEY = 0xFFFFFF
"""The tunnel key reserved for state packets (services/topology/tunnel_keys.py)."""
MAGIC = b"VS"
VERSION = 1
MAX_EGRESS = 8
MAX_CONN = 16
MAX_NAT = 8

_HEAD = struct.Struct("!2sBB16sBBB")
_TUPLE = struct.Struct("!IHIH")
_CONN = struct.Struct("!16sBIHIH")
_NAT = struct.Struct("!16sBB12s12s")
HEADER_SIZE = _HEAD.size
CONN_SIZE = _CONN.size
NAT_SIZE = _NAT.size
MAX_SIZE = HEADER_SIZE + 16 * MAX_EGRESS + CONN_SIZE * MAX_CONN + NAT_SIZE * MAX_NAT

_KIND_CODE = {NatKind.SNAT: 1, NatKind.DNAT: 2}
_CODE_KIND = {v: k for k, v in _KIND_CODE.items()}


class StateDecodeError(ValueError):
    """Bytes that are not a valid state message; ``reason`` is a short counter label."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason


@dataclass(frozen=True, slots=True)
class StateMessage:
    """The entries of one connection's forward packet, sharing its ports."""

    ports: SessionPorts
    conns: tuple[ConnKey, ...] = ()
    nats: tuple[tuple[str, NatKind, NatBinding], ...] = ()

    def __post_init__(self) -> None:
        if len(self.ports.egress) > MAX_EGRESS:
            raise ValueError(f"at most {MAX_EGRESS} egress ports in a state message")
        if len(self.conns) > MAX_CONN or len(self.nats) > MAX_NAT:
            raise ValueError(f"at most {MAX_CONN} conntrack and {MAX_NAT} NAT entries")

    def entries(self) -> list[SessionEntry]:
        """The message as session entries (each with the message's ports)."""
        out: list[SessionEntry] = [ConnEntry(k, self.ports) for k in self.conns]
        out.extend(NatEntry(d, kind, b, self.ports) for d, kind, b in self.nats)
        return out


def messages_for(ports: SessionPorts, entries: Sequence[SessionEntry]) -> list[StateMessage]:
    """Entries sharing ``ports`` as few bounded messages as needed (more than MAX_EGRESS
    egress ports: the ports are split too, each message carrying every entry)."""
    conns = [e.key for e in entries if isinstance(e, ConnEntry)]
    nats = [(e.device_id, e.kind, e.binding) for e in entries if isinstance(e, NatEntry)]
    egress = ports.egress
    egress_groups = [egress[i : i + MAX_EGRESS] for i in range(0, len(egress), MAX_EGRESS)]
    out = []
    for egress in egress_groups or [()]:
        p = SessionPorts(ports.ingress, egress)
        n = max(1, -(-len(conns) // MAX_CONN), -(-len(nats) // MAX_NAT))
        for i in range(n):
            out.append(
                StateMessage(
                    p,
                    tuple(conns[i * MAX_CONN : (i + 1) * MAX_CONN]),
                    tuple(nats[i * MAX_NAT : (i + 1) * MAX_NAT]),
                )
            )
    return out


def encode(message: StateMessage) -> bytes:
    """The message's bytes (at most MAX_SIZE). Port and device ids must be UUIDs."""
    parts = [
        _HEAD.pack(
            MAGIC,
            VERSION,
            0,
            _uuid(message.ports.ingress),
            len(message.ports.egress),
            len(message.conns),
            len(message.nats),
        )
    ]
    parts.extend(_uuid(p) for p in message.ports.egress)
    parts.extend(_conn(k) for k in message.conns)
    for device, kind, b in message.nats:
        orig, trans = _tup(b.original), _tup(b.translated)
        parts.append(_NAT.pack(_uuid(device), _KIND_CODE[kind], b.original.proto, orig, trans))
    return b"".join(parts)


def decode(data: bytes) -> StateMessage:
    """Parse a state message; :class:`StateDecodeError` (only) on anything invalid."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise StateDecodeError("type", f"expected bytes, got {type(data).__name__}")
    data = bytes(data)
    if len(data) < HEADER_SIZE:
        raise StateDecodeError("truncated", f"{len(data)} bytes, header is {HEADER_SIZE}")
    if len(data) > MAX_SIZE:
        raise StateDecodeError("too_large", f"{len(data)} bytes, at most {MAX_SIZE}")
    magic, version, flags, ingress, n_egress, n_conn, n_nat = _HEAD.unpack_from(data)
    if magic != MAGIC:
        raise StateDecodeError("magic", f"bad magic {magic!r}")
    if version != VERSION:
        raise StateDecodeError("version", f"unsupported version {version}")
    if flags != 0:
        raise StateDecodeError("flags", f"reserved flags set: {flags:#x}")
    if n_egress > MAX_EGRESS or n_conn > MAX_CONN or n_nat > MAX_NAT:
        raise StateDecodeError("count", f"counts {n_egress}/{n_conn}/{n_nat} over the bounds")
    want = HEADER_SIZE + 16 * n_egress + CONN_SIZE * n_conn + NAT_SIZE * n_nat
    if len(data) != want:
        raise StateDecodeError("length", f"{len(data)} bytes, the counts say {want}")
    off = HEADER_SIZE
    egress = []
    for _ in range(n_egress):
        egress.append(_str(data[off : off + 16]))
        off += 16
    conns = []
    for _ in range(n_conn):
        dev, proto, sip, sport, dip, dport = _CONN.unpack_from(data, off)
        off += CONN_SIZE
        conns.append(ConnKey(_str(dev), FlowTuple(_proto(proto), sip, sport, dip, dport)))
    nats = []
    for _ in range(n_nat):
        dev, kind_code, proto, orig, trans = _NAT.unpack_from(data, off)
        off += NAT_SIZE
        kind = _CODE_KIND.get(kind_code)
        if kind is None:
            raise StateDecodeError("nat_kind", f"unknown NAT kind {kind_code}")
        p = _proto(proto)
        nats.append((_str(dev), kind, NatBinding(_untup(p, orig), _untup(p, trans))))
    return StateMessage(SessionPorts(_str(ingress), tuple(egress)), tuple(conns), tuple(nats))


def encode_entry(entry: SessionEntry) -> bytes:
    """One entry as a message of its own (a store row's value)."""
    if isinstance(entry, ConnEntry):
        return encode(StateMessage(entry.ports, conns=(entry.key,)))
    return encode(StateMessage(entry.ports, nats=((entry.device_id, entry.kind, entry.binding),)))


def decode_entry(data: bytes) -> SessionEntry:
    """The one entry of a store row; :class:`StateDecodeError` if not exactly one."""
    entries = decode(data).entries()
    if len(entries) != 1:
        raise StateDecodeError("count", f"a row holds one entry, found {len(entries)}")
    return entries[0]


def key_bytes(key: SessionKey) -> bytes:
    """A primary key as bytes (a store row's clustering key: a rewrite replaces the row)."""
    if isinstance(key, ConnKey):
        return b"C" + _conn(key)
    direction = b"F" if key.direction is NatDirection.FORWARD else b"R"
    return (
        b"N"
        + direction
        + _uuid(key.device_id)
        + bytes([_KIND_CODE[key.kind], key.flow.proto])
        + _tup(key.flow)
    )


def _conn(k: ConnKey) -> bytes:
    f = k.flow
    return _CONN.pack(_uuid(k.device_id), f.proto, f.src_ip, f.src_port, f.dst_ip, f.dst_port)


@functools.lru_cache(maxsize=65536)
def _uuid(s: str) -> bytes:
    # Cached: a few port and device ids recur in every entry, and uuid.UUID is slow.
    return uuid.UUID(s).bytes


@functools.lru_cache(maxsize=65536)
def _str(b: bytes) -> str:
    return str(uuid.UUID(bytes=b))


def _proto(p: int) -> int:
    if p not in TRACKED_PROTOS:
        raise StateDecodeError("proto", f"protocol {p} has no sessions")
    return p


def _tup(f: FlowTuple) -> bytes:
    return _TUPLE.pack(f.src_ip, f.src_port, f.dst_ip, f.dst_port)


def _untup(proto: int, b: bytes) -> FlowTuple:
    sip, sport, dip, dport = _TUPLE.unpack(b)
    return FlowTuple(proto, sip, sport, dip, dport)
