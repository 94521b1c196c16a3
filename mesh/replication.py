"""Replication of CRDT tables: numbered deltas, per-origin version vectors, a bounded delta
log, out-of-order buffering, and chunked full-state transfer for anti-entropy.

Each origin (a replica id, unique per process lifetime) numbers its deltas per table
1, 2, 3...; a node applies an origin's deltas only in seq order and keeps, per table, the
version vector of contiguous seqs applied. Anything that cannot be bridged with deltas (a
gap the log no longer covers, a new member) is bridged with the full state, whose version
vector then joins ours. Pure: no clocks, no I/O."""

from __future__ import annotations

import enum
import hashlib
import random
from collections import OrderedDict, deque
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field

import crdt
from mesh.broadcast_queue import BroadcastQueue
from mesh.codec import encode_message
from mesh.config import MeshConfig
from mesh.messages import Delta, StateChunk, StateRequest, VersionVector
from mesh.metrics import Metrics
from mesh.table import CRDT, Table

_MASK63 = (1 << 63) - 1
_RECENT = 64
"""Recently applied deltas kept (encoded) to answer digest pulls."""
_CHUNK_OVERHEAD = 256
_MAX_SNAPSHOTS = 8
"""Serving-side snapshots kept at once (a transfer whose snapshot was evicted restarts)."""


def _entry_hash(table: str, origin: str, seq: int) -> int:
    data = f"{table}\x00{origin}\x00{seq}".encode()
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "big") & _MASK63


def changed_keys(state: CRDT, delta: CRDT) -> frozenset[Hashable]:
    """Keys of a map table that `delta` may change (call before applying it)."""
    affected = getattr(state, "affected_keys", None)
    if affected is None:
        return frozenset()
    return frozenset(affected(delta))


class ChunkOutcome(enum.Enum):
    """How a state transfer ended, when a chunk ends it (no next chunk to request)."""

    APPLIED = "applied"
    """The whole state arrived and was joined into the table."""
    ABANDONED = "abandoned"
    """Unknown table, expired snapshot, a bad or oversized chunk, or an undecodable state."""


@dataclass(slots=True)
class _Snapshot:
    table: str
    data: bytes
    vv: VersionVector
    created: float
    version: int


@dataclass(slots=True)
class _Assembly:
    total: int
    vv: VersionVector
    parts: list[bytes] = field(default_factory=list)
    size: int = 0
    updated: float = 0.0


@dataclass(slots=True)
class TableSync:
    """Replication bookkeeping of one table."""

    table: Table
    vv: VersionVector = field(default_factory=dict)
    log: OrderedDict[tuple[str, int], Delta] = field(default_factory=OrderedDict)
    buffer: dict[str, dict[int, tuple[Delta, str]]] = field(default_factory=dict)
    buffered: int = 0
    gaps: dict[str, tuple[float, str]] = field(default_factory=dict)
    version: int = 0
    snapshot: int = 0


class Replication:
    """All replicated tables of one node and their anti-entropy state."""

    def __init__(
        self,
        config: MeshConfig,
        replica_id: str,
        rng: random.Random,
        queue: BroadcastQueue,
        metrics: Metrics,
        emit: Callable[[Table, frozenset[Hashable]], None],
        datagram_budget: int,
        drop: Callable[[str, float, str], None],
    ) -> None:
        self.config = config
        self.replica_id = replica_id
        self.rng = rng
        self.queue = queue
        self.metrics = metrics
        self.emit = emit
        self.drop = drop
        """Count and (rate-limited) log one dropped input: drop(reason, now, detail)."""
        self.datagram_budget = datagram_budget
        self.syncs: dict[str, TableSync] = {}
        self.total = 0
        self.hash = 0
        self.tables_hash = 0
        self.recent: deque[bytes] = deque(maxlen=_RECENT)
        self.want_push = False
        self.pull_from: set[str] = set()
        self._snapshots: dict[int, _Snapshot] = {}
        self._incoming: dict[tuple[str, int], _Assembly] = {}
        self._next_snapshot = rng.getrandbits(31) or 1

    # ---- tables and digests -------------------------------------------------------------

    def add_table(self, table: Table) -> None:
        """Start replicating `table`."""
        self.syncs[table.name] = TableSync(table)
        names = "\x00".join(sorted(self.syncs)).encode()
        digest = hashlib.blake2b(names, digest_size=8).digest()
        self.tables_hash = int.from_bytes(digest, "big") & _MASK63

    def digest(self) -> tuple[int, int]:
        """(sum of all version-vector entries, XOR-hash of them): equal iff (very likely)
        the same deltas were applied; a larger total proves the peer has something more."""
        return self.total, self.hash

    def vvs(self) -> dict[str, VersionVector]:
        """Per-table version vectors (the push-pull digest)."""
        return {name: dict(s.vv) for name, s in self.syncs.items()}

    def _advance(self, sync: TableSync, origin: str, seq: int) -> None:
        name = sync.table.name
        old = sync.vv.get(origin, 0)
        if seq <= old:
            return
        if old:
            self.hash ^= _entry_hash(name, origin, old)
        self.hash ^= _entry_hash(name, origin, seq)
        self.total += seq - old
        sync.vv[origin] = seq
        sync.version += 1

    # ---- deltas -----------------------------------------------------------------------------

    def local_delta(self, table: Table, delta: CRDT, now: float) -> None:
        """A local write: number it, apply it, log it, and queue it for gossip."""
        sync = self.syncs[table.name]
        keys = changed_keys(table.state, delta)
        table.state.apply(delta)
        seq = sync.vv.get(self.replica_id, 0) + 1
        msg = Delta(table.name, self.replica_id, seq, now, crdt.encode(delta))
        self._advance(sync, self.replica_id, seq)
        self._log(sync, msg, relay=True)
        self.emit(table, keys)

    def _log(self, sync: TableSync, msg: Delta, relay: bool) -> None:
        sync.log[(msg.origin, msg.seq)] = msg
        while len(sync.log) > self.config.delta_log_max:
            sync.log.popitem(last=False)
        item = encode_message(msg)
        if len(item) > self.datagram_budget:
            # too big for a datagram: push-pulls to random peers carry it, hop by hop
            self.want_push = True
        elif relay:
            self.queue.queue(item)
            self.recent.append(item)

    def on_delta(self, msg: Delta, now: float, sender: str, relay: bool = True) -> bool:
        """A delta from the network; applied if it is the next of its origin, buffered if
        early, ignored if already applied. True if it (and maybe buffered ones) applied."""
        sync = self.syncs.get(msg.table)
        if sync is None:
            self.metrics.drop("unknown_table")  # a table others declared: counted, not logged
            return False
        have = sync.vv.get(msg.origin, 0)
        if msg.seq <= have:
            return False
        if msg.seq > have + 1:
            pending = sync.buffer.setdefault(msg.origin, {})
            if msg.seq not in pending:
                if sync.buffered >= self.config.delta_buffer_max:
                    self.drop("delta_buffer_full", now, f"{msg.table}: {msg.origin}/{msg.seq}")
                else:
                    pending[msg.seq] = (msg, sender)
                    sync.buffered += 1
            sync.gaps.setdefault(msg.origin, (now, sender))
            return False
        if not self._apply(sync, msg, now, relay):
            return False
        self._drain(sync, msg.origin, now, relay)
        return True

    def _apply(self, sync: TableSync, msg: Delta, now: float, relay: bool) -> bool:
        try:
            delta = crdt.decode(msg.data)
            keys = changed_keys(sync.table.state, delta)
            sync.table.state.apply(delta)
        except (crdt.DecodeError, TypeError, ValueError, AttributeError) as exc:
            self.drop("bad_delta", now, f"{msg.table}: {msg.origin}/{msg.seq}: {exc}")
            return False
        self._advance(sync, msg.origin, msg.seq)
        self._log(sync, msg, relay)
        self.metrics.deltas_applied += 1
        self.metrics.lag(now - msg.created)
        self.emit(sync.table, keys)
        return True

    def _drain(self, sync: TableSync, origin: str, now: float, relay: bool) -> None:
        pending = sync.buffer.get(origin)
        if not pending:
            sync.gaps.pop(origin, None)
            return
        have = sync.vv.get(origin, 0)
        for seq in [s for s in pending if s <= have]:
            del pending[seq]
            sync.buffered -= 1
        while have + 1 in pending:
            msg, _ = pending.pop(have + 1)
            sync.buffered -= 1
            if not self._apply(sync, msg, now, relay):
                break
            have += 1
        if pending:
            sync.gaps[origin] = (now, min(pending.items())[1][1])
        else:
            sync.buffer.pop(origin, None)
            sync.gaps.pop(origin, None)

    def recent_items(self, budget: int) -> list[bytes]:
        """Newest applied deltas (encoded) that fit in `budget` bytes, for a digest pull."""
        out: list[bytes] = []
        for item in reversed(self.recent):
            if len(item) <= budget:
                out.append(item)
                budget -= len(item)
        return out

    # ---- anti-entropy (serving) ----------------------------------------------------------

    def lacks(self, vvs: dict[str, VersionVector]) -> bool:
        """True if the peer's vectors show deltas we have not applied."""
        for name, vv in vvs.items():
            sync = self.syncs.get(name)
            if sync is None:
                continue
            mine = sync.vv
            for origin, seq in vv.items():
                if seq > mine.get(origin, 0):
                    return True
        return False

    def answer(
        self, vvs: dict[str, VersionVector], budget: int, now: float
    ) -> tuple[list[Delta], list[StateChunk], bool]:
        """What a peer with vectors `vvs` lacks: deltas from the log where it covers the
        gap, else the first chunk of a full-state snapshot; bounded by `budget` bytes.
        Returns (deltas, chunks, more) where more means "ask again, budget ran out"."""
        deltas: list[Delta] = []
        chunks: list[StateChunk] = []
        more = False
        whole = budget  # a delta that alone exceeds a whole reply goes as full state
        for name, theirs in vvs.items():
            sync = self.syncs.get(name)
            if sync is None:
                continue
            missing: list[tuple[str, int, int]] = []
            full = False
            for origin, seq in sync.vv.items():
                have = theirs.get(origin, 0)
                if seq <= have:
                    continue
                if seq - have > len(sync.log) or any(
                    (origin, s) not in sync.log or self._size(sync.log[(origin, s)]) > whole
                    for s in range(have + 1, seq + 1)
                ):
                    full = True
                    break
                missing.append((origin, have + 1, seq))
            if full:
                if budget <= _CHUNK_OVERHEAD:
                    more = True
                    continue
                chunk = self.serve_chunk(name, 0, 0, budget - _CHUNK_OVERHEAD, now)
                chunks.append(chunk)
                budget -= len(chunk.data) + _CHUNK_OVERHEAD + 40 * len(chunk.vv)
                continue
            for origin, lo, hi in missing:
                for s in range(lo, hi + 1):
                    msg = sync.log[(origin, s)]
                    size = self._size(msg)
                    if size > budget:
                        more = True
                        break
                    deltas.append(msg)
                    budget -= size
        return deltas, chunks, more

    @staticmethod
    def _size(msg: Delta) -> int:
        """Upper bound of a delta's encoded size in a reply."""
        return len(msg.data) + len(msg.origin) + len(msg.table) + 32

    def serve_chunk(
        self, table: str, snapshot: int, offset: int, budget: int, now: float
    ) -> StateChunk:
        """Bytes of a full-state snapshot starting at `offset` (snapshot 0 = a fresh one)."""
        sync = self.syncs.get(table)
        if sync is None:
            return StateChunk(table, 0, 0, 0, b"", {})
        snap = self._snapshots.get(snapshot) if snapshot else None
        if snapshot and snap is None:
            return StateChunk(table, 0, 0, 0, b"", {})  # expired: start over
        if snap is None:
            cached = self._snapshots.get(sync.snapshot)
            if cached is not None and cached.version == sync.version:
                snap, snapshot = cached, sync.snapshot
            else:
                snapshot = self._next_snapshot
                self._next_snapshot = (self._next_snapshot % 0x7FFFFFFF) + 1
                snap = _Snapshot(
                    table, crdt.encode(sync.table.state), dict(sync.vv), now, sync.version
                )
                self._snapshots[snapshot] = snap
                sync.snapshot = snapshot
                while len(self._snapshots) > _MAX_SNAPSHOTS:  # bound memory: oldest goes
                    del self._snapshots[next(iter(self._snapshots))]
        size = max(1, min(budget, self.config.max_stream_bytes - _CHUNK_OVERHEAD))
        data = snap.data[offset : offset + size]
        return StateChunk(table, snapshot, offset, len(snap.data), data, snap.vv)

    # ---- anti-entropy (receiving) --------------------------------------------------------

    def on_chunk(self, chunk: StateChunk, now: float, key: str) -> StateRequest | ChunkOutcome:
        """Collect a state chunk (from peer `key`); returns the request for the next chunk,
        or the outcome when the transfer ended (state applied, or abandoned)."""
        sync = self.syncs.get(chunk.table)
        if sync is None or chunk.snapshot == 0:
            return ChunkOutcome.ABANDONED
        ident = (f"{key}|{chunk.table}", chunk.snapshot)
        asm = self._incoming.get(ident)
        if chunk.offset == 0:
            asm = _Assembly(chunk.total, chunk.vv)
            self._incoming[ident] = asm
        if asm is None or chunk.offset != asm.size or chunk.total != asm.total:
            self._incoming.pop(ident, None)
            self.drop("bad_chunk", now, f"{chunk.table}: snapshot {chunk.snapshot}")
            return ChunkOutcome.ABANDONED
        if not chunk.data and asm.size < asm.total:
            self._incoming.pop(ident, None)
            self.drop("bad_chunk", now, f"{chunk.table}: snapshot {chunk.snapshot}")
            return ChunkOutcome.ABANDONED
        if asm.size + len(chunk.data) > self.config.max_incoming_stream_bytes * 64:
            self._incoming.pop(ident, None)
            self.drop("oversized", now, f"{chunk.table}: state transfer too large")
            return ChunkOutcome.ABANDONED
        asm.parts.append(chunk.data)
        asm.size += len(chunk.data)
        asm.updated = now
        if asm.size < asm.total:
            return StateRequest(chunk.table, chunk.snapshot, asm.size)
        del self._incoming[ident]
        applied = self.apply_state(sync, b"".join(asm.parts), asm.vv, now)
        return ChunkOutcome.APPLIED if applied else ChunkOutcome.ABANDONED

    def apply_state(self, sync: TableSync, data: bytes, vv: VersionVector, now: float) -> bool:
        """Join a peer's full state; our vector becomes the max with the peer's."""
        try:
            state = crdt.decode(data)
            keys = changed_keys(sync.table.state, state)
            sync.table.state.apply(state)
        except (crdt.DecodeError, TypeError, ValueError, AttributeError) as exc:
            self.drop("bad_state", now, f"{sync.table.name}: {exc}")
            return False
        for origin, seq in vv.items():
            self._advance(sync, origin, seq)
        sync.version += 1
        self.metrics.states_applied += 1
        for origin in list(sync.buffer):
            self._drain(sync, origin, now, relay=False)
        self.emit(sync.table, keys)
        return True

    # ---- timers -------------------------------------------------------------------------------

    def tick(self, now: float) -> set[str]:
        """Expire old transfers; returns host ids whose gap outlived gap_timeout (pull from
        them) and clears the pull requests collected since the last tick."""
        ttl = self.config.state_transfer_ttl
        for sid in [s for s, snap in self._snapshots.items() if now - snap.created > ttl]:
            del self._snapshots[sid]
        for ident in [i for i, a in self._incoming.items() if now - a.updated > ttl]:
            del self._incoming[ident]
        pulls = self.pull_from
        self.pull_from = set()
        for sync in self.syncs.values():
            for origin, (since, sender) in list(sync.gaps.items()):
                if since + self.config.gap_timeout <= now:  # same float form as the deadline
                    pulls.add(sender)
                    sync.gaps[origin] = (now, sender)
        return pulls

    def next_deadline(self) -> float:
        """When a gap times out (inf if none)."""
        when = float("inf")
        for sync in self.syncs.values():
            for since, _ in sync.gaps.values():
                when = min(when, since + self.config.gap_timeout)
        return when
