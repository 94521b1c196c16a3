"""Wire format: a version byte, a flags byte, then a msgpack body (sealed with the keyring
when one is configured). The body is [sender host id, sender time, [message, ...]] and a
message is [code, field, ...] as declared in mesh/messages.py.

decode_* raise only MessageError (or its subclass AuthError) on bad input."""

from __future__ import annotations

import math
import struct
from collections.abc import Callable, Sequence
from typing import cast

import msgpack

from mesh.errors import AuthError, MessageError
from mesh.keyring import OVERHEAD, Keyring
from mesh.messages import MESSAGE_TYPES, Delta, Message, MessageClass, StateChunk

VERSION = 1
FLAG_SEALED = 0x01
HEADER_SIZE = 2
MAX_ITEMS = 100_000
"""Upper bound on list/map lengths accepted from the wire (memory safety)."""


def envelope_overhead(sender: str, keyring: Keyring | None) -> int:
    """Bytes an envelope adds around its message items (upper bound)."""
    fixed = HEADER_SIZE + 1 + len(_pack(sender)) + 9 + 5
    return fixed + (OVERHEAD if keyring is not None else 0)


# ---- encoding -------------------------------------------------------------------------


def _pack(obj: object) -> bytes:
    out: bytes = msgpack.packb(obj, use_bin_type=True)
    return out


Addr = tuple[str, int]


def _enc_field(kind: str, value: object) -> object:
    # `kind` is the field's declaration in mesh/messages.py, so the casts say what it holds
    if kind in ("addr", "addr?"):
        addr = cast("Addr | None", value)
        return None if addr is None else [addr[0], addr[1]]
    if kind == "float":
        return float(cast(float, value))
    if kind == "members":
        return [
            [h, [g[0], g[1]], u, None if a is None else [a[0], a[1]], s, i]
            for (h, g, u, a, s, i) in cast("list[MemberRecord]", value)
        ]
    if kind == "deltas":
        return [_fields(d) for d in cast("list[Delta]", value)]
    if kind == "chunks":
        return [_fields(c) for c in cast("list[StateChunk]", value)]
    return value


def _fields(msg: Message) -> list[object]:
    names: tuple[str, ...] = msg.__slots__
    return [_enc_field(k, getattr(msg, n)) for k, n in zip(msg.FIELDS, names, strict=True)]


def encode_message(msg: Message) -> bytes:
    """One message as msgpack bytes (an item of an envelope)."""
    return _pack([msg.CODE, *_fields(msg)])


def _array_header(n: int) -> bytes:
    if n < 16:
        return bytes([0x90 | n])
    if n < 0x10000:
        return b"\xdc" + struct.pack(">H", n)
    return b"\xdd" + struct.pack(">I", n)


def encode_envelope(
    sender: str, ts: float, items: Sequence[bytes], keyring: Keyring | None
) -> bytes:
    """Frame pre-encoded message items from `sender` at time `ts`, sealed if keyring."""
    body = b"".join(
        (
            b"\x93",
            _pack(sender),
            _pack(float(ts)),
            _array_header(len(items)),
            *items,
        )
    )
    if keyring is None:
        return bytes((VERSION, 0)) + body
    return bytes((VERSION, FLAG_SEALED)) + keyring.seal(body)


# ---- decoding -------------------------------------------------------------------------


def _int(v: object) -> int:
    if type(v) is not int or v < 0 or v >= 1 << 63:
        raise MessageError("expected a non-negative int")
    return v


def _str(v: object) -> str:
    if type(v) is not str:
        raise MessageError("expected a str")
    return v


def _float(v: object) -> float:
    if not (type(v) is float or type(v) is int) or not math.isfinite(v):
        raise MessageError("expected a finite float")
    return float(v)


def _bool(v: object) -> bool:
    if type(v) is not bool:
        raise MessageError("expected a bool")
    return v


def _bytes(v: object) -> bytes:
    if type(v) is not bytes:
        raise MessageError("expected bytes")
    return v


def _pair(v: object) -> list[object]:
    if type(v) is not list or len(v) != 2:
        raise MessageError("expected an address")
    out: list[object] = v
    return out


def _addr(v: object) -> tuple[str, int]:
    host, port_raw = _pair(v)
    port = _int(port_raw)
    if port > 65535:
        raise MessageError("port out of range")
    return (_str(host), port)


def _addr_opt(v: object) -> tuple[str, int] | None:
    return None if v is None else _addr(v)


def _list(v: object) -> list[object]:
    if type(v) is not list or len(v) > MAX_ITEMS:
        raise MessageError("expected a bounded list")
    out: list[object] = v
    return out


def _map(v: object, what: str) -> dict[object, object]:
    if type(v) is not dict or len(v) > MAX_ITEMS:
        raise MessageError(f"expected {what}")
    out: dict[object, object] = v
    return out


_STATES = ("alive", "suspect", "dead", "left")

MemberRecord = tuple[str, tuple[str, int], str, tuple[str, int] | None, str, int]


def _members(v: object) -> list[MemberRecord]:
    out: list[MemberRecord] = []
    for item in _list(v):
        if type(item) is not list or len(item) != 6:
            raise MessageError("bad member record")
        m: list[object] = item
        state = _str(m[4])
        if state not in _STATES:
            raise MessageError("bad member state")
        out.append((_str(m[0]), _addr(m[1]), _str(m[2]), _addr_opt(m[3]), state, _int(m[5])))
    return out


def _vv(v: object) -> dict[str, int]:
    return {_str(k): _int(s) for k, s in _map(v, "a version vector").items()}


def _vvs(v: object) -> dict[str, dict[str, int]]:
    return {_str(k): _vv(s) for k, s in _map(v, "version vectors").items()}


def _sub(cls: MessageClass) -> Callable[[object], list[Message]]:
    def parse(v: object) -> list[Message]:
        return [_build(cls, f) for f in _list(v)]

    return parse


_PARSERS: dict[str, Callable[[object], object]] = {
    "int": _int,
    "str": _str,
    "float": _float,
    "bool": _bool,
    "bytes": _bytes,
    "addr": _addr,
    "addr?": _addr_opt,
    "members": _members,
    "vv": _vv,
    "vvs": _vvs,
    "deltas": _sub(Delta),
    "chunks": _sub(StateChunk),
}


def _build(cls: MessageClass, fields: object) -> Message:
    if type(fields) is not list or len(fields) != len(cls.FIELDS):
        raise MessageError(f"bad field count for {cls.KIND}")
    items: list[object] = fields
    return cls(*(_PARSERS[k](v) for k, v in zip(cls.FIELDS, items, strict=True)))


def decode_message(obj: object) -> Message:
    """Validate one decoded item ([code, fields...]) into a message value."""
    if type(obj) is not list or not obj:
        raise MessageError("message is not a non-empty array")
    item: list[object] = obj
    code = item[0]
    cls = MESSAGE_TYPES.get(code) if type(code) is int else None
    if cls is None:
        raise MessageError("unknown message code")
    return _build(cls, item[1:])


def decode_envelope(data: bytes, keyring: Keyring | None) -> tuple[str, float, list[Message]]:
    """Open and parse an envelope -> (sender host id, sender time, messages).

    Raises AuthError if it is not sealed with a key we hold (or sealed when we have no
    keyring), MessageError for anything else that is wrong."""
    if len(data) < HEADER_SIZE:
        raise MessageError("truncated header")
    if data[0] != VERSION:
        raise MessageError(f"unsupported version {data[0]}")
    flags = data[1]
    if flags & ~FLAG_SEALED:
        raise MessageError("unknown flags")
    body = data[HEADER_SIZE:]
    if keyring is not None:
        if not flags & FLAG_SEALED:
            raise AuthError("unsealed payload while encryption is on")
        body = keyring.open(body)
    elif flags & FLAG_SEALED:
        raise AuthError("sealed payload but no keyring")
    try:
        obj: object = msgpack.unpackb(
            body,
            raw=False,
            use_list=True,
            strict_map_key=True,
            max_str_len=len(body),
            max_bin_len=len(body),
            max_array_len=MAX_ITEMS,
            max_map_len=MAX_ITEMS,
            max_ext_len=0,
        )
    except Exception as exc:  # msgpack raises many types on garbage; normalise them
        raise MessageError(f"undecodable msgpack: {type(exc).__name__}") from None
    if type(obj) is not list or len(obj) != 3:
        raise MessageError("envelope is not [sender, time, messages]")
    parts: list[object] = obj
    sender, ts, items = _str(parts[0]), _float(parts[1]), _list(parts[2])
    return sender, ts, [decode_message(i) for i in items]


__all__ = [
    "AuthError",
    "MessageError",
    "decode_envelope",
    "decode_message",
    "encode_envelope",
    "encode_message",
    "envelope_overhead",
]
