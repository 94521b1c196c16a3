"""Shared behaviour of topology values: the common fields, and parse from / dump to plain
dicts through the declared fields (services/topology/fields.py)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Self

from services.topology.fields import (
    NONEMPTY,
    TEXT,
    UUID,
    FieldSpec,
    Requires,
    dump_fields,
    field,
    parse_fields,
    specs_of,
)


@dataclass(frozen=True, slots=True, kw_only=True)
class TopologyObject:
    """Base of the frozen slotted dataclasses of each kind: every field is declared once,
    with `fields.field(...)`; KIND is the kind's name (and its replicated table suffix)."""

    KIND: ClassVar[str]
    #: rules across fields (fields.Requires), checked by the kind's __post_init__
    CONSTRAINTS: ClassVar[tuple[Requires, ...]] = ()
    id: str = field(UUID, read_only="set by the server")
    tenant_id: str = field(NONEMPTY)
    name: str = field(TEXT, default="")

    @classmethod
    def spec(cls) -> tuple[FieldSpec, ...]:
        """The declared fields, in order."""
        return specs_of(cls)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """Validate plain data (unknown, missing or malformed fields raise ValidationError)."""
        return parse_fields(cls, specs_of(cls), data)

    def to_dict(self) -> dict[str, Any]:
        """Plain data with every field, the inverse of from_dict."""
        return dump_fields(self, specs_of(type(self)))

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        """Names of the declared fields."""
        return tuple(s.name for s in specs_of(cls))
