"""Shared behaviour of topology values: parse from and dump to plain dicts via their SPEC."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Self

from services.topology.fields import FieldSpec, dump_fields, parse_fields


class TopologyObject:
    """Mixin for frozen slotted dataclasses that declare their fields in SPEC."""

    __slots__ = ()
    SPEC: ClassVar[tuple[FieldSpec, ...]]
    KIND: ClassVar[str]
    id: str
    tenant_id: str

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """Validate plain data (unknown, missing or malformed fields raise ValidationError)."""
        return parse_fields(cls, cls.SPEC, data)

    def to_dict(self) -> dict[str, Any]:
        """Plain data with every field, the inverse of from_dict."""
        return dump_fields(self, self.SPEC)

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        """Names of the declared fields."""
        return tuple(s.name for s in cls.SPEC)
