"""MeshNode: the sans-IO mesh protocol object (membership, dissemination, anti-entropy).

Skeleton with the final public API; internals are being filled in."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence

from mesh.address import Address
from mesh.config import MeshConfig
from mesh.events import Event, MemberChanged, TableChanged
from mesh.keyring import Keyring
from mesh.member import Member, MemberMeta, MemberState
from mesh.metrics import Metrics
from mesh.outputs import Output
from mesh.table import CRDT, Table


class MeshNode:
    """One mesh member's protocol state machine: feed it time and bytes, get outputs."""

    def __init__(
        self,
        config: MeshConfig,
        meta: MemberMeta,
        *,
        rng: random.Random,
        keyring: Keyring | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self.config = config
        self.meta = meta
        self.rng = rng
        self.keyring = keyring
        self.metrics = metrics if metrics is not None else Metrics()
        self.replica_id = f"{meta.host_id}/{rng.getrandbits(32):08x}"
        self.tables: dict[str, Table] = {}
        self._events: list[Event] = []
        self._incarnation = 0

    def table(self, name: str, factory: Callable[[], CRDT]) -> Table:
        """Declare (or get) the replicated table `name` holding a `factory()` CRDT."""
        t = self.tables.get(name)
        if t is None:
            t = self.tables[name] = Table(name, factory, self)
        return t

    def _local_delta(self, table: Table, delta: CRDT) -> None:
        table.state.apply(delta)
        keys: frozenset[object] = frozenset()
        self._events.append(TableChanged(table.name, keys))
        table._notify(keys)

    def join(self, now: float, seeds: Sequence[Address]) -> list[Output]:
        """Start (or restart) membership: push-pull with each seed."""
        return []

    def leave(self, now: float) -> list[Output]:
        """Graceful leave: broadcast that we left; keep ticking a little to spread it."""
        return []

    def tick(self, now: float) -> list[Output]:
        """Run due timers: probes, suspicion timeouts, gossip, push-pull."""
        return []

    def next_deadline(self) -> float:
        """The earliest `now` at which tick() has work."""
        return float("inf")

    def receive_datagram(self, now: float, src: Address, payload: bytes) -> list[Output]:
        """Handle one UDP datagram from `src`."""
        return []

    def handle_stream_request(self, now: float, src: Address, request: bytes) -> bytes:
        """Server side of a stream: answer one request."""
        return b""

    def handle_stream_response(
        self, now: float, stream_id: int, response: bytes | None
    ) -> list[Output]:
        """Client side of a stream: the reply to an OpenStream (None if it failed)."""
        return []

    def members(self) -> list[Member]:
        """Every known member, including ourselves."""
        return [Member(self.meta, MemberState.ALIVE, self._incarnation)]

    def drain_events(self) -> list[MemberChanged | TableChanged]:
        """Events since the last call, oldest first."""
        out, self._events = self._events, []
        return out

    def set_external_members(self, metas: Sequence[MemberMeta] | None) -> None:
        """ZooKeeper mode: membership comes from outside (None returns to SWIM)."""
