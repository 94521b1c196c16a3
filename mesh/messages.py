"""The wire messages of the mesh protocol, declared once (name, code, typed fields).

The codec (mesh/codec.py) encodes and validates every message from these declarations,
so encoding and decoding cannot drift apart."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

from mesh.address import Address

MemberTuple = tuple[str, Address, str, Address | None, str, int]
"""(host_id, gossip, underlay, api, state value, incarnation) as exchanged by push-pull."""
VersionVector = dict[str, int]
"""origin -> highest contiguous delta seq applied from that origin (one table)."""


@dataclass(frozen=True, slots=True)
class Ping:
    """Direct probe of `target` (host id, so a reused address is not mistaken for it)."""

    KIND: ClassVar[str] = "ping"
    CODE: ClassVar[int] = 1
    FIELDS: ClassVar[tuple[str, ...]] = ("int", "str")
    seq: int
    target: str


@dataclass(frozen=True, slots=True)
class IndirectPing:
    """Ask the receiver to probe `target` at `addr` on our behalf; `nack` asks for a Nack
    if the target stays silent (Lifeguard: tells us the relay itself is fine)."""

    KIND: ClassVar[str] = "indirect_ping"
    CODE: ClassVar[int] = 2
    FIELDS: ClassVar[tuple[str, ...]] = ("int", "str", "addr", "bool")
    seq: int
    target: str
    addr: Address
    nack: bool


@dataclass(frozen=True, slots=True)
class Ack:
    """Answer to a Ping (or a relayed answer to an IndirectPing) with the probe's seq."""

    KIND: ClassVar[str] = "ack"
    CODE: ClassVar[int] = 3
    FIELDS: ClassVar[tuple[str, ...]] = ("int",)
    seq: int


@dataclass(frozen=True, slots=True)
class Nack:
    """A relay could not reach the target of an IndirectPing in time."""

    KIND: ClassVar[str] = "nack"
    CODE: ClassVar[int] = 4
    FIELDS: ClassVar[tuple[str, ...]] = ("int",)
    seq: int


@dataclass(frozen=True, slots=True)
class Alive:
    """Member `host_id` is alive at `incarnation` with this metadata (join, refutation)."""

    KIND: ClassVar[str] = "alive"
    CODE: ClassVar[int] = 5
    FIELDS: ClassVar[tuple[str, ...]] = ("str", "int", "addr", "str", "addr?")
    host_id: str
    incarnation: int
    gossip: Address
    underlay: str
    api: Address | None


@dataclass(frozen=True, slots=True)
class Suspect:
    """`source` suspects `host_id` at `incarnation`."""

    KIND: ClassVar[str] = "suspect"
    CODE: ClassVar[int] = 6
    FIELDS: ClassVar[tuple[str, ...]] = ("str", "int", "str")
    host_id: str
    incarnation: int
    source: str


@dataclass(frozen=True, slots=True)
class Dead:
    """`source` declares `host_id` dead; source == host_id means a graceful leave."""

    KIND: ClassVar[str] = "dead"
    CODE: ClassVar[int] = 7
    FIELDS: ClassVar[tuple[str, ...]] = ("str", "int", "str")
    host_id: str
    incarnation: int
    source: str


@dataclass(frozen=True, slots=True)
class Delta:
    """Delta number `seq` of `origin` for table `table` (crdt-encoded `data`), created at
    the origin's time `created` (for lag metrics)."""

    KIND: ClassVar[str] = "delta"
    CODE: ClassVar[int] = 8
    FIELDS: ClassVar[tuple[str, ...]] = ("str", "str", "int", "float", "bytes")
    table: str
    origin: str
    seq: int
    created: float
    data: bytes


@dataclass(frozen=True, slots=True)
class Digest:
    """Compact replication summary riding on gossip: total of all version vectors, a hash
    of them, and a hash of the declared table names (digests of members that declare other
    tables are not comparable and are ignored). A peer whose hash differs answers with
    recent deltas (reply=True)."""

    KIND: ClassVar[str] = "digest"
    CODE: ClassVar[int] = 9
    FIELDS: ClassVar[tuple[str, ...]] = ("int", "int", "int", "bool")
    total: int
    hash: int
    tables: int
    reply: bool


@dataclass(frozen=True, slots=True)
class StateChunk:
    """Bytes [offset, offset+len(data)) of snapshot `snapshot` (crdt-encoded full state of
    `table`, `total` bytes) and the version vector the snapshot includes. snapshot 0 with
    total 0 means "snapshot expired, start over"."""

    KIND: ClassVar[str] = "state_chunk"
    CODE: ClassVar[int] = 10
    FIELDS: ClassVar[tuple[str, ...]] = ("str", "int", "int", "int", "bytes", "vv")
    table: str
    snapshot: int
    offset: int
    total: int
    data: bytes
    vv: VersionVector


@dataclass(frozen=True, slots=True)
class PushPull:
    """Stream request: our member list and per-table version vectors (the digest)."""

    KIND: ClassVar[str] = "push_pull"
    CODE: ClassVar[int] = 11
    FIELDS: ClassVar[tuple[str, ...]] = ("bool", "members", "vvs")
    join: bool
    members: list[MemberTuple]
    vvs: dict[str, VersionVector]


@dataclass(frozen=True, slots=True)
class PushPullReply:
    """Stream reply: the responder's members and vectors, the deltas the requester lacks
    (bounded), the first chunks of full states where deltas would not do, and `more` if
    the bound cut the reply short (ask again)."""

    KIND: ClassVar[str] = "push_pull_reply"
    CODE: ClassVar[int] = 12
    FIELDS: ClassVar[tuple[str, ...]] = ("members", "vvs", "deltas", "chunks", "bool")
    members: list[MemberTuple]
    vvs: dict[str, VersionVector]
    deltas: list[Delta]
    chunks: list[StateChunk]
    more: bool


@dataclass(frozen=True, slots=True)
class StateRequest:
    """Stream request for the next chunk of a snapshot."""

    KIND: ClassVar[str] = "state_request"
    CODE: ClassVar[int] = 13
    FIELDS: ClassVar[tuple[str, ...]] = ("str", "int", "int")
    table: str
    snapshot: int
    offset: int


Message = (
    Ping
    | IndirectPing
    | Ack
    | Nack
    | Alive
    | Suspect
    | Dead
    | Delta
    | Digest
    | StateChunk
    | PushPull
    | PushPullReply
    | StateRequest
)


class MessageClass(Protocol):
    """A message type (the class itself): its wire declaration, and its constructor taking
    the fields in declaration order."""

    KIND: str
    CODE: int
    FIELDS: tuple[str, ...]

    def __call__(self, *fields: Any, **_: Any) -> Message: ...


MESSAGE_TYPES: dict[int, MessageClass] = {
    cls.CODE: cls
    for cls in (
        Ping,
        IndirectPing,
        Ack,
        Nack,
        Alive,
        Suspect,
        Dead,
        Delta,
        Digest,
        StateChunk,
        PushPull,
        PushPullReply,
        StateRequest,
    )
}
