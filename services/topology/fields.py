"""Declarative fields: each topology field is declared once, as a dataclass field whose
metadata says how to parse and dump it, its OpenAPI schema, what it references, whether the
API may write it, and (rule conditions) what it tests.

Like datapath/odp/attrs.py for netlink, one declaration drives every reader: validation
(`parse_fields`), the replicated form (`dump_fields`), the OpenAPI document
(services/api/openapi.py), the referential checks (services/topology/store.py), meshctl's
options (services/cli/resources.py) and the rule compilers (services/simulation/).
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar, overload

from services.topology.addr import (
    CIDR_PATTERN,
    IP_PATTERN,
    MAC_PATTERN,
    Cidr,
    format_ip,
    format_mac,
    parse_ip,
    parse_mac,
)
from services.topology.errors import ValidationError

T = TypeVar("T")
U = TypeVar("U")
Parse = Callable[[object, str], T]
Dump = Callable[[T], object]
Schema = Mapping[str, Any]


class _Missing:
    """The marker of a field without a default (a required one)."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING = _Missing()


@dataclass(frozen=True, slots=True)
class Codec(Generic[T]):
    """How a value goes from its plain (JSON/msgpack) form to Python and back, and the
    OpenAPI 3.0 schema of the plain form. `text`: free text (meshctl keeps `--name 2024`
    a string)."""

    parse: Parse[T]
    dump: Dump[T]
    schema: Schema
    text: bool = False


#: what a rule condition compares; services/simulation/conditions.py and chaincode.py
#: implement each test once
ConditionTest = Literal[
    "in_port",
    "out_port",
    "in_group",
    "out_group",
    "mac",
    "eq",
    "cidr",
    "ip_group",
    "range",
    "fragment",
]


@dataclass(frozen=True, slots=True)
class Condition:
    """A rule field that is a match condition: its test, the packet field it reads (None:
    only the ports), and for "mac" the rule field holding the mask."""

    test: ConditionTest
    reads: str | None = None
    mask_field: str | None = None


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One declared field of a kind (built from the dataclass field's metadata)."""

    name: str
    codec: Codec[Any]
    default: Any = MISSING
    refs: tuple[str, ...] = ()
    read_only: str | None = None
    condition: Condition | None = None

    @property
    def required(self) -> bool:
        """True when the field has no default."""
        return self.default is MISSING

    def parse(self, value: Any, field: str) -> Any:
        """The Python value of plain data (ValidationError naming `field`)."""
        return self.codec.parse(value, field)

    def dump(self, value: Any) -> object:
        """The plain form of a Python value."""
        return self.codec.dump(value)

    def schema(self) -> dict[str, Any]:
        """The OpenAPI schema of the field (read-only fields say so)."""
        out = dict(self.codec.schema)
        if self.read_only is not None:
            out["readOnly"] = True
        return out


_META = "vnetmesh.field"


@dataclass(frozen=True, slots=True)
class _Meta:
    """What field() stores in the dataclass field's metadata."""

    codec: Codec[Any]
    refs: tuple[str, ...]
    read_only: str | None
    condition: Condition | None


@overload
def field(
    codec: Codec[T],
    *,
    refs: tuple[str, ...] = (),
    read_only: str | None = None,
    condition: Condition | None = None,
) -> T: ...


@overload
def field(
    codec: Codec[T],
    *,
    default: T,
    refs: tuple[str, ...] = (),
    read_only: str | None = None,
    condition: Condition | None = None,
) -> T: ...


def field(
    codec: Codec[Any],
    *,
    default: Any = MISSING,
    refs: tuple[str, ...] = (),
    read_only: str | None = None,
    condition: Condition | None = None,
) -> Any:
    """Declare a topology field (a dataclasses.field carrying the declaration).

    `refs`: kinds whose ids it may hold (dangling -> 404, in use -> 409 on delete);
    `read_only`: why the API refuses to write it; `condition`: what a rule tests with it.
    """
    meta = {_META: _Meta(codec, refs, read_only, condition)}
    if default is MISSING:
        return dataclasses.field(metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


# ---------------------------------------------------------------------- cross-field rules


@dataclass(frozen=True, slots=True)
class Is:
    """Holds when `field` has one of `values`."""

    field: str
    values: tuple[str, ...]

    def holds(self, obj: object) -> bool:
        """True when the object's field has one of the values."""
        return getattr(obj, self.field) in self.values


@dataclass(frozen=True, slots=True)
class IsSet:
    """Holds when `field` is set (not None)."""

    field: str

    def holds(self, obj: object) -> bool:
        """True when the object's field is not None."""
        return getattr(obj, self.field) is not None


@dataclass(frozen=True, slots=True)
class Lists:
    """Holds when the list field `field` holds `item`."""

    field: str
    item: str

    def holds(self, obj: object) -> bool:
        """True when the object's list field contains the item."""
        value: object = getattr(obj, self.field)
        return isinstance(value, tuple) and self.item in value


When = Is | IsSet | Lists


@dataclass(frozen=True, slots=True)
class Requires:
    """A rule across fields, declared once: when `when` holds, `field` must be set
    (`present`) or unset. The validator (`check`) and the OpenAPI schema
    (services/api/openapi.py) both derive from it; a violation names `report` (else `field`).
    `in_schema=False`: the document only describes it (see `invert` in rule.py)."""

    when: When
    field: str
    present: bool
    message: str
    report: str | None = None
    in_schema: bool = True

    def check(self, obj: object) -> None:
        """Raise ValidationError when the object breaks the rule."""
        if self.when.holds(obj) and (getattr(obj, self.field) is not None) != self.present:
            raise ValidationError(self.report or self.field, self.message)


def check_rules(obj: object, rules: tuple[Requires, ...]) -> None:
    """Check an object against its kind's cross-field rules, in declaration order."""
    for rule in rules:
        rule.check(obj)


_SPECS: dict[type, tuple[FieldSpec, ...]] = {}


def specs_of(cls: type) -> tuple[FieldSpec, ...]:
    """The declared fields of a topology dataclass, in declaration order (cached)."""
    out = _SPECS.get(cls)
    if out is None:
        items: list[FieldSpec] = []
        for f in dataclasses.fields(cls):
            meta: object = f.metadata[_META]
            if not isinstance(meta, _Meta):
                raise TypeError(f"{cls.__name__}.{f.name} is not declared with fields.field()")
            default: object = MISSING if f.default is dataclasses.MISSING else f.default
            items.append(
                FieldSpec(f.name, meta.codec, default, meta.refs, meta.read_only, meta.condition)
            )
        out = _SPECS[cls] = tuple(items)
    return out


# ---------------------------------------------------------------------- parsers


def _ident(value: T) -> T:
    return value


def p_uuid(value: object, field: str) -> str:
    """A UUID in canonical lowercase text."""
    if not isinstance(value, str):
        raise ValidationError(field, f"expected a UUID string, got {value!r}")
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise ValidationError(field, f"malformed UUID {value!r}") from None


def p_uuids(value: object, field: str) -> tuple[str, ...]:
    """A list of UUIDs, kept sorted and deduplicated (set semantics)."""
    if not isinstance(value, list | tuple):
        raise ValidationError(field, f"expected a list of UUIDs, got {value!r}")
    return tuple(sorted({p_uuid(v, field) for v in value}))


def p_text(value: object, field: str) -> str:
    """Free text."""
    if not isinstance(value, str):
        raise ValidationError(field, f"expected a string, got {value!r}")
    return value


def p_nonempty(value: object, field: str) -> str:
    """Non-empty text (tenant ids, host ids)."""
    text = p_text(value, field)
    if not text:
        raise ValidationError(field, "must not be empty")
    return text


def p_bool(value: object, field: str) -> bool:
    """A JSON boolean."""
    if not isinstance(value, bool):
        raise ValidationError(field, f"expected a boolean, got {value!r}")
    return value


def p_int(lo: int, hi: int) -> Parse[int]:
    """An int in [lo, hi]."""

    def parse(value: object, field: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            raise ValidationError(field, f"expected an integer in [{lo}, {hi}], got {value!r}")
        return value

    return parse


def p_ips(value: object, field: str) -> tuple[int, ...]:
    """A list of IPv4 addresses, sorted and deduplicated."""
    if not isinstance(value, list | tuple):
        raise ValidationError(field, f"expected a list of IPv4 addresses, got {value!r}")
    return tuple(sorted({parse_ip(v, field) for v in value}))


def p_cidrs(value: object, field: str) -> tuple[Cidr, ...]:
    """A list of IPv4 prefixes (bare addresses mean /32)."""
    if not isinstance(value, list | tuple):
        raise ValidationError(field, f"expected a list of CIDRs, got {value!r}")
    return tuple(sorted({Cidr.parse(v, field) for v in value}, key=lambda c: (c.addr, c.plen)))


def p_range(value: object, field: str) -> tuple[int, int]:
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


def p_proto(value: object, field: str) -> int:
    """ "tcp", "udp", "icmp" or an IP protocol number."""
    if isinstance(value, str):
        if value not in PROTO_NAMES:
            raise ValidationError(field, f"unknown protocol {value!r}")
        return PROTO_NAMES[value]
    return p_int(0, 255)(value, field)


def d_proto(value: int) -> str | int:
    """Protocol name when it has one, else the number."""
    return PROTO_BY_NUMBER.get(value, value)


# ---------------------------------------------------------------------- codecs


def opt(codec: Codec[T]) -> Codec[T | None]:
    """None or what `codec` accepts (JSON null in the schema)."""

    def parse(value: object, field: str) -> T | None:
        return None if value is None else codec.parse(value, field)

    def dump(value: T | None) -> object:
        return None if value is None else codec.dump(value)

    return Codec(parse, dump, {**codec.schema, "nullable": True}, codec.text)


def int_range(lo: int, hi: int) -> Codec[int]:
    """An integer in [lo, hi]."""
    return Codec(p_int(lo, hi), _ident, {"type": "integer", "minimum": lo, "maximum": hi})


def enum(*choices: str) -> Codec[str]:
    """One of a fixed set of strings."""

    def parse(value: object, field: str) -> str:
        if value not in choices:
            raise ValidationError(field, f"expected one of {list(choices)}, got {value!r}")
        return str(value)

    return Codec(parse, _ident, {"type": "string", "enum": list(choices)})


def _d_range(value: tuple[int, int]) -> list[int]:
    return [value[0], value[1]]


def _d_list(value: tuple[str, ...]) -> list[str]:
    return list(value)


UUID_SCHEMA: Schema = {"type": "string", "format": "uuid"}
MAC_SCHEMA: Schema = {"type": "string", "pattern": f"^{MAC_PATTERN}$"}
IP_SCHEMA: Schema = {"type": "string", "pattern": f"^{IP_PATTERN}$", "example": "10.0.0.1"}
CIDR_SCHEMA: Schema = {
    "type": "string",
    "pattern": f"^{CIDR_PATTERN}$",
    "example": "10.0.0.1/24",
}
PROTO_SCHEMA: Schema = {
    "oneOf": [
        {"type": "string", "enum": ["tcp", "udp", "icmp"]},
        {"type": "integer", "minimum": 0, "maximum": 255},
    ]
}

UUID: Codec[str] = Codec(p_uuid, _ident, UUID_SCHEMA)
UUIDS: Codec[tuple[str, ...]] = Codec(p_uuids, _d_list, {"type": "array", "items": UUID_SCHEMA})
TEXT: Codec[str] = Codec(p_text, _ident, {"type": "string"}, text=True)
NONEMPTY: Codec[str] = Codec(p_nonempty, _ident, {"type": "string", "minLength": 1}, text=True)
BOOL: Codec[bool] = Codec(p_bool, _ident, {"type": "boolean"})
MAC: Codec[int] = Codec(parse_mac, format_mac, MAC_SCHEMA)
IP: Codec[int] = Codec(parse_ip, format_ip, IP_SCHEMA)
CIDR: Codec[Cidr] = Codec(Cidr.parse, str, CIDR_SCHEMA)
IPS: Codec[tuple[int, ...]] = Codec(
    p_ips, lambda v: [format_ip(x) for x in v], {"type": "array", "items": IP_SCHEMA}
)
CIDRS: Codec[tuple[Cidr, ...]] = Codec(
    p_cidrs, lambda v: [str(x) for x in v], {"type": "array", "items": CIDR_SCHEMA}
)
PORT_RANGE: Codec[tuple[int, int]] = Codec(
    p_range,
    _d_range,
    {
        "type": "array",
        "items": {"type": "integer", "minimum": 0, "maximum": 65535},
        "minItems": 2,
        "maxItems": 2,
    },
)
PROTO: Codec[int] = Codec(p_proto, d_proto, PROTO_SCHEMA)


# ---------------------------------------------------------------------- objects


def parse_fields(cls: Callable[..., U], specs: tuple[FieldSpec, ...], data: Mapping[str, Any]) -> U:
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
            kwargs[spec.name] = spec.codec.parse(data[spec.name], spec.name)
        elif spec.required:
            raise ValidationError(spec.name, "required field is missing")
        else:
            kwargs[spec.name] = spec.default
    return cls(**kwargs)


def dump_fields(obj: object, specs: tuple[FieldSpec, ...]) -> dict[str, Any]:
    """Plain (JSON/msgpack-able) data of an object, every field present."""
    return {s.name: s.codec.dump(getattr(obj, s.name)) for s in specs}
