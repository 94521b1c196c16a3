"""Typed reads of pyroute2's netlink objects, the one place they are given a type.

pyroute2 has no type hints. Its messages and nested attribute sets are read here through the
`NlMsg` protocol, its sockets through `GenlSocket` and `RouteSocket`; every value comes out
as `object` and the readers below check it, raising DecodeError with a reason.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from typing import Protocol, cast


class DecodeError(ValueError):
    """A netlink message or attribute that does not decode to our values."""


class NlMsg(Protocol):
    """A pyroute2 message or nested attribute set (an nlmsg_base): fields by key, attributes
    by name. Building a request sets fields the same way."""

    def __getitem__(self, key: str, /) -> object: ...

    def __setitem__(self, key: str, value: object, /) -> None: ...

    def get_attr(self, name: str) -> object: ...

    def decode(self) -> None: ...


class GenlSocket(Protocol):
    """What we use of pyroute2's AsyncGenericNetlinkSocket, bound to one family."""

    prid: int
    mcast_groups: Mapping[str, int]

    async def bind(self, proto: str, msg_class: type) -> None: ...

    async def nlm_request(
        self, msg: NlMsg, msg_type: int, msg_flags: int
    ) -> AsyncIterator[NlMsg]: ...

    def close(self) -> None: ...


class RouteSocket(Protocol):
    """What we use of pyroute2's AsyncIPRoute."""

    async def setup_endpoint(self) -> None: ...

    async def bind(self) -> None: ...

    async def link(self, command: str, **kwargs: object) -> object: ...

    async def link_lookup(self, **kwargs: object) -> Sequence[int]: ...

    def close(self) -> None: ...


def as_msg(obj: object) -> NlMsg:
    """`obj` read as a message: a pyroute2 value whose type pyroute2 does not declare. Reads
    of something else fail with KeyError/TypeError, which the readers below turn into
    DecodeError."""
    return cast(NlMsg, obj)


def get_attr(msg: object, name: str) -> object:
    """Attribute `name` of a message (None if absent)."""
    return as_msg(msg).get_attr(name)


def field(obj: object, name: str) -> object:
    """Field `name` of a message or struct attribute; DecodeError if missing."""
    try:
        return as_msg(obj)[name]
    except (KeyError, TypeError) as exc:
        raise DecodeError(f"missing field {name}") from exc


def attr_items(obj: object) -> list[tuple[str, object]]:
    """The (name, value) pairs of a nested attribute set."""
    try:
        raw = cast("Iterable[Sequence[object]]", as_msg(obj)["attrs"])
        return [(str(a[0]), a[1]) for a in raw]
    except (KeyError, TypeError, IndexError) as exc:
        raise DecodeError(f"not a nested attribute set: {exc}") from exc


def as_int(value: object) -> int:
    """`value` if it is an int (not a bool)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise DecodeError(f"expected an integer, got {type(value).__name__}")
    return value


def as_bytes_int(value: object, size: int) -> int:
    """The big-endian integer of a `size`-byte value."""
    if not isinstance(value, (bytes, bytearray)) or len(value) != size:
        raise DecodeError(f"expected {size} bytes")
    return int.from_bytes(value, "big")


def int_field(obj: object, name: str) -> int:
    """Integer field `name` of a message or struct attribute."""
    return as_int(field(obj, name))


def as_dict(value: object) -> dict[str, object]:
    """A struct attribute's fields as a dict (pyroute2 decodes them into a mapping)."""
    if not isinstance(value, Mapping):
        raise DecodeError(f"expected a struct attribute, got {type(value).__name__}")
    return {str(k): v for k, v in cast("Mapping[object, object]", value).items()}
