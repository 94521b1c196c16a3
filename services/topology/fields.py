"""Declarative field specs: one table per object kind drives parsing, defaults and dumping.

Like pyroute2's nla_map, the same declaration decodes and encodes, so they cannot drift.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from services.topology.addr import Cidr, format_ip, format_mac, parse_ip, parse_mac
from services.topology.errors import ValidationError

Parse = Callable[[Any, str], Any]
Dump = Callable[[Any], Any]

_MISSING: Any = object()


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One field: how to parse it from plain data, how to dump it, and its default."""

    name: str
    parse: Parse
    dump: Dump
    default: Any = _MISSING

    @property
    def required(self) -> bool:
        """True when the field has no default."""
        return self.default is _MISSING


def _ident(value: Any) -> Any:
    return value


def p_uuid(value: Any, field: str) -> str:
    """A UUID in canonical lowercase text."""
    if not isinstance(value, str):
        raise ValidationError(field, f"expected a UUID string, got {value!r}")
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise ValidationError(field, f"malformed UUID {value!r}") from None


def p_opt_uuid(value: Any, field: str) -> str | None:
    """A UUID or None."""
    return None if value is None else p_uuid(value, field)


def p_uuids(value: Any, field: str) -> tuple[str, ...]:
    """A list of UUIDs, kept sorted and deduplicated (set semantics)."""
    if not isinstance(value, list | tuple):
        raise ValidationError(field, f"expected a list of UUIDs, got {value!r}")
    return tuple(sorted({p_uuid(v, field) for v in value}))


def p_text(value: Any, field: str) -> str:
    """Free text."""
    if not isinstance(value, str):
        raise ValidationError(field, f"expected a string, got {value!r}")
    return value


def p_nonempty(value: Any, field: str) -> str:
    """Non-empty text (tenant ids, host ids)."""
    text = p_text(value, field)
    if not text:
        raise ValidationError(field, "must not be empty")
    return text


def p_bool(value: Any, field: str) -> bool:
    """A JSON boolean."""
    if not isinstance(value, bool):
        raise ValidationError(field, f"expected a boolean, got {value!r}")
    return value


def p_int(lo: int, hi: int) -> Parse:
    """An int in [lo, hi]."""

    def parse(value: Any, field: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            raise ValidationError(field, f"expected an integer in [{lo}, {hi}], got {value!r}")
        return value

    return parse


def p_opt(parse: Parse) -> Parse:
    """None or what `parse` accepts."""

    def opt(value: Any, field: str) -> Any:
        return None if value is None else parse(value, field)

    return opt


def p_enum(*choices: str) -> Parse:
    """One of a fixed set of strings."""

    def parse(value: Any, field: str) -> str:
        if value not in choices:
            raise ValidationError(field, f"expected one of {list(choices)}, got {value!r}")
        return str(value)

    return parse


def p_mac(value: Any, field: str) -> int:
    """A MAC address as int."""
    return parse_mac(value, field)


def p_ip(value: Any, field: str) -> int:
    """An IPv4 address as int."""
    return parse_ip(value, field)


def p_cidr(value: Any, field: str) -> Cidr:
    """An IPv4 prefix."""
    return Cidr.parse(value, field)


def p_ips(value: Any, field: str) -> tuple[int, ...]:
    """A list of IPv4 addresses, sorted and deduplicated."""
    if not isinstance(value, list | tuple):
        raise ValidationError(field, f"expected a list of IPv4 addresses, got {value!r}")
    return tuple(sorted({parse_ip(v, field) for v in value}))


def p_cidrs(value: Any, field: str) -> tuple[Cidr, ...]:
    """A list of IPv4 prefixes (bare addresses mean /32)."""
    if not isinstance(value, list | tuple):
        raise ValidationError(field, f"expected a list of CIDRs, got {value!r}")
    return tuple(sorted({Cidr.parse(v, field) for v in value}, key=lambda c: (c.addr, c.plen)))


def p_range(value: Any, field: str) -> tuple[int, int]:
    """A [lo, hi] port range, 0 <= lo <= hi <= 65535."""
    if (
        not isinstance(value, list | tuple)
        or len(value) != 2
        or not all(isinstance(v, int) and not isinstance(v, bool) for v in value)
        or not 0 <= value[0] <= value[1] <= 65535
    ):
        raise ValidationError(field, f"expected [lo, hi] with 0 <= lo <= hi <= 65535: {value!r}")
    return (value[0], value[1])


PROTO_NAMES = {"icmp": 1, "tcp": 6, "udp": 17}
PROTO_BY_NUMBER = {v: k for k, v in PROTO_NAMES.items()}


def p_proto(value: Any, field: str) -> int:
    """ "tcp", "udp", "icmp" or an IP protocol number."""
    if isinstance(value, str):
        if value not in PROTO_NAMES:
            raise ValidationError(field, f"unknown protocol {value!r}")
        return PROTO_NAMES[value]
    return int(p_int(0, 255)(value, field))


def d_proto(value: int) -> str | int:
    """Protocol name when it has one, else the number."""
    return PROTO_BY_NUMBER.get(value, value)


def d_opt(dump: Dump) -> Dump:
    """Dump None as None, else with `dump`."""
    return lambda v: None if v is None else dump(v)


def d_str(value: Any) -> str:
    """str() of a value (Cidr)."""
    return str(value)


def d_list(dump: Dump) -> Dump:
    """Dump a tuple as a list of dumped items."""
    return lambda v: [dump(x) for x in v]


def f(name: str, parse: Parse, dump: Dump = _ident, default: Any = _MISSING) -> FieldSpec:
    """Shorthand for a FieldSpec."""
    return FieldSpec(name, parse, dump, default)


def uuid_f(name: str) -> FieldSpec:
    """A required UUID field."""
    return f(name, p_uuid)


def opt_uuid_f(name: str) -> FieldSpec:
    """An optional UUID field."""
    return f(name, p_opt_uuid, default=None)


COMMON = (uuid_f("id"), f("tenant_id", p_nonempty), f("name", p_text, default=""))

T = TypeVar("T")


def parse_fields(cls: Callable[..., T], specs: tuple[FieldSpec, ...], data: Mapping[str, Any]) -> T:
    """Build `cls` from plain data: unknown fields and missing required ones name the field."""
    if not isinstance(data, Mapping):
        raise ValidationError("body", f"expected an object, got {type(data).__name__}")
    names = {s.name for s in specs}
    for key in data:
        if key not in names:
            raise ValidationError(str(key), "unknown field")
    kwargs: dict[str, Any] = {}
    for spec in specs:
        if spec.name in data and (data[spec.name] is not None or not spec.required):
            kwargs[spec.name] = spec.parse(data[spec.name], spec.name)
        elif spec.required:
            raise ValidationError(spec.name, "required field is missing")
        else:
            kwargs[spec.name] = spec.default
    return cls(**kwargs)


def dump_fields(obj: Any, specs: tuple[FieldSpec, ...]) -> dict[str, Any]:
    """Plain (JSON/msgpack-able) data of an object, every field present."""
    return {s.name: s.dump(getattr(obj, s.name)) for s in specs}


# Re-exported dump helpers for model modules.
dump_mac = format_mac
dump_ip = format_ip
