"""MeshNode: the sans-IO mesh protocol object (membership, dissemination, anti-entropy).

Feed it time, datagrams and stream replies; it returns datagrams to send and streams to
open, and queues events. No sockets, clocks or awaits inside: the asyncio transport
(mesh/transport) and the simulator (mesh/sim) drive the very same object."""

from __future__ import annotations

import logging
import math
import random
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from mesh.address import Address
from mesh.broadcast_queue import BroadcastQueue, retransmit_limit
from mesh.codec import decode_envelope, encode_envelope, encode_message, envelope_overhead
from mesh.config import MeshConfig
from mesh.errors import AuthError, MessageError
from mesh.events import Event, MemberChanged, TableChanged
from mesh.keyring import Keyring
from mesh.member import Member, MemberMeta, MemberState
from mesh.membership import Membership
from mesh.messages import (
    Ack,
    Alive,
    Dead,
    Delta,
    Digest,
    IndirectPing,
    Message,
    Nack,
    Ping,
    PushPull,
    PushPullReply,
    StateChunk,
    StateRequest,
    Suspect,
    VersionVector,
)
from mesh.metrics import Metrics
from mesh.outputs import OpenStream, Output, SendDatagram
from mesh.replication import ChunkOutcome, Replication
from mesh.table import CRDT, Table

log = logging.getLogger("mesh.node")
_DIGEST_SIZE = 32
"""Upper bound of an encoded Digest item."""
_PUSH_PULL_SCALE_THRESHOLD = 32


@dataclass(slots=True)
class _Stream:
    kind: str  # "push_pull" | "state"
    dst: Address
    peer: str | None
    opened: float


def push_pull_scale(interval: float, n: int) -> float:
    """memberlist: beyond 32 members, push-pull gets rarer as log2(N) grows."""
    if n <= _PUSH_PULL_SCALE_THRESHOLD:
        return interval
    mult = math.ceil(math.log2(n) - math.log2(_PUSH_PULL_SCALE_THRESHOLD)) + 1
    return interval * mult


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
        """Replica id for CRDT dots and delta origins: unique per process lifetime, so a
        restarted member never reuses a dot or a seq."""
        self.tables: dict[str, Table] = {}
        self._events: list[Event] = []
        self.queue = BroadcastQueue()
        self._overhead = envelope_overhead(meta.host_id, keyring)
        self.membership = Membership(config, meta, rng, self.queue, self._member_changed)
        self.replication = Replication(
            config,
            self.replica_id,
            rng,
            self.queue,
            self.metrics,
            self._table_changed,
            config.mtu - self._overhead - _DIGEST_SIZE,
            self._drop,
        )
        self._now = 0.0
        self._started = False
        self._next_gossip = 0.0
        self._next_push_pull = 0.0
        self._next_reconnect = 0.0
        self._streams: dict[int, _Stream] = {}
        self._stream_seq = rng.getrandbits(20)
        self._pulling: dict[Address, int] = {}
        """Outstanding streams per peer: no second push-pull while one (or a state transfer
        it started) is in flight, so transfers never trip over each other."""
        self._seeds: list[Address] = []
        self._next_stream_sweep = 0.0
        self._limit_n = -1
        self._limit_value = 0
        self._behind_since: float | None = None
        self._behind_last = -math.inf
        self._last_escalation = -math.inf
        self._last_log: dict[str, float] = {}
        self._write_hooks: list[Callable[[Table, CRDT], None]] = []
        self._peer_vvs: dict[str, dict[str, VersionVector]] = {}
        """Per host id, the version vectors it last sent us in a push-pull (request or
        reply): what we know it holds (for waits on replication)."""

    # ---- tables ----------------------------------------------------------------------------

    def table(self, name: str, factory: Callable[[], CRDT]) -> Table:
        """Declare (or get) the replicated table `name` holding a `factory()` CRDT."""
        t = self.tables.get(name)
        if t is None:
            t = self.tables[name] = Table(name, factory, self)
            self.replication.add_table(t)
        return t

    def local_write(self, table: Table, delta: CRDT, now: float) -> None:
        """A local write to `table` at `now` (the caller's clock, the one that drives us):
        apply it and queue it for dissemination, stamped with the write time."""
        self._now = max(self._now, now)
        self.replication.local_delta(table, delta, now)
        for hook in self._write_hooks:
            hook(table, delta)

    def add_write_hook(self, hook: Callable[[Table, CRDT], None]) -> None:
        """Call hook(table, delta) after every local write (the shell's write-ahead log)."""
        self._write_hooks.append(hook)

    def written(self) -> dict[str, int]:
        """Per table, the seq of our newest local write (0: none yet)."""
        return {name: vv.get(self.replica_id, 0) for name, vv in self.replication.vvs().items()}

    def holders(self, written: Mapping[str, int]) -> set[str]:
        """Host ids (not ours) last known, from push-pulls, to hold our writes up to the
        given per-table seqs (as returned by written())."""
        me = self.meta.host_id
        out: set[str] = set()
        for host, vvs in self._peer_vvs.items():
            if host == me:
                continue
            if all(
                vvs.get(table, {}).get(self.replica_id, 0) >= seq
                for table, seq in written.items()
                if seq
            ):
                out.add(host)
        return out

    def sync_with(self, now: float, hosts: Iterable[str]) -> list[Output]:
        """Push-pull now with each of these members that is alive and not already being
        pulled from (to spread our writes and learn what the peers hold)."""
        self._clock(now)
        out: list[Output] = []
        alive = {m.meta.host_id for m in self.members() if m.state is MemberState.ALIVE}
        for host in sorted(hosts):
            addr = self.membership.address_of(host)
            if host in alive and addr is not None and addr not in self._pulling:
                out.append(self._push_pull(addr, host, join=False))
        return out

    def _table_changed(self, table: Table, keys: frozenset[Hashable]) -> None:
        self._events.append(TableChanged(table.name, keys))
        table.notify(keys)

    def _member_changed(self, member: Member) -> None:
        self._events.append(MemberChanged(member))

    # ---- membership API -----------------------------------------------------------------------

    def join(self, now: float, seeds: Sequence[Address]) -> list[Output]:
        """Start (or restart) membership: announce ourselves and push-pull with each seed."""
        self._clock(now)
        self.membership.rejoin()
        self.membership.announce()
        self._seeds = [(s[0], s[1]) for s in seeds if (s[0], s[1]) != tuple(self.meta.gossip)]
        return [self._push_pull(addr, None, join=True) for addr in self._seeds]

    def leave(self, now: float) -> list[Output]:
        """Graceful leave: tell a few peers right away; keep ticking a little to spread it
        (probing and push-pull stop, gossip goes on)."""
        self._clock(now)
        self.membership.leave()
        n = max(self.config.gossip_fanout, 2 * self.config.gossip_fanout)
        return [self._send(dst, [], now) for dst in self.membership.random_peers(n, now)]

    def update_meta(self, now: float, meta: MemberMeta) -> None:
        """Change our own metadata (same host id): a higher incarnation carries it to all."""
        if meta.host_id != self.meta.host_id:
            raise ValueError("the host id of a member cannot change")
        self._clock(now)
        self.meta = meta
        self.membership.update_meta(meta)

    def members(self) -> list[Member]:
        """Every known member, including ourselves."""
        return self.membership.members()

    def drain_events(self) -> list[MemberChanged | TableChanged]:
        """Events since the last call, oldest first."""
        out, self._events = self._events, []
        return out

    def set_external_members(self, metas: Sequence[MemberMeta] | None) -> None:
        """ZooKeeper mode: membership comes from outside (None returns to SWIM)."""
        self.membership.set_external(metas, self._now)

    def prime_members(self, metas: Sequence[MemberMeta], now: float) -> None:
        """Know these members as alive without any exchange (simulation bootstraps)."""
        self._clock(now)
        self.membership.prime(metas, now)

    # ---- framing ------------------------------------------------------------------------------

    def _clock(self, now: float) -> None:
        self._now = max(self._now, now)
        if not self._started:
            self._started = True
            self._next_gossip = now + self.rng.uniform(0, self.config.gossip_interval)
            self._next_push_pull = now + self.rng.uniform(0.5, 1.0) * self.config.push_pull_interval
            self._next_reconnect = now + self.rng.uniform(0.5, 1.5) * self.config.reconnect_interval
            self.membership.start(now)

    def _limit(self) -> int:
        n = self.membership.live_count()
        if n != self._limit_n:
            self._limit_n = n
            self._limit_value = retransmit_limit(self.config.retransmit_mult, n)
        return self._limit_value

    def _send(
        self, dst: Address, msgs: Sequence[Message], now: float, extra: Sequence[bytes] = ()
    ) -> SendDatagram:
        items = [encode_message(m) for m in msgs]
        items.extend(extra)
        budget = self.config.mtu - self._overhead - sum(len(i) for i in items)
        if budget > 8:
            items.extend(self.queue.get(budget, self._limit()))
        payload = encode_envelope(self.meta.host_id, now, items, self.keyring)
        self.metrics.messages_out["datagram"] += 1
        self.metrics.bytes_out["datagram"] += len(payload)
        for m in msgs:
            self.metrics.messages_out[m.KIND] += 1
        return SendDatagram(dst, payload)

    def _drop(self, reason: str, now: float, detail: str) -> None:
        self.metrics.drop(reason)
        last = self._last_log.get(reason)
        if last is None or now - last >= self.config.log_interval:
            self._last_log[reason] = now
            log.warning(
                "%s: dropped input (%s): %s [%d so far]",
                self.meta.host_id,
                reason,
                detail,
                self.metrics.drops[reason],
            )

    def _open(self, data: bytes, now: float, limit: int) -> tuple[str, float, list[Message]] | None:
        if len(data) > limit:
            self._drop("oversized", now, f"{len(data)} bytes")
            return None
        try:
            sender, ts, msgs = decode_envelope(data, self.keyring)
        except AuthError as exc:
            self._drop("auth", now, str(exc))
            return None
        except MessageError as exc:
            self._drop("malformed", now, str(exc))
            return None
        age = self.config.max_message_age
        if age > 0 and abs(now - ts) > age:
            self._drop("stale", now, f"sender time {ts:.3f}, now {now:.3f}")
            return None
        return sender, ts, msgs

    # ---- datagrams ---------------------------------------------------------------------------

    def receive_datagram(self, now: float, src: Address, payload: bytes) -> list[Output]:
        """Handle one UDP datagram from `src`."""
        self._clock(now)
        self.metrics.messages_in["datagram"] += 1
        self.metrics.bytes_in["datagram"] += len(payload)
        opened = self._open(payload, now, self.config.mtu)
        if opened is None:
            return []
        sender, _, msgs = opened
        m = self.membership
        out: list[Output] = []
        replies: list[tuple[Address, Message]] = []
        digest: Digest | None = None
        for msg in msgs:
            self.metrics.messages_in[msg.KIND] += 1
            if isinstance(msg, Delta):
                self.replication.on_delta(msg, now, sender)
            elif isinstance(msg, Alive):
                m.on_alive(msg, now)
            elif isinstance(msg, Suspect):
                m.on_suspect(msg, now)
            elif isinstance(msg, Dead):
                m.on_dead(msg, now)
            elif isinstance(msg, Ping):
                replies.extend(m.on_ping(src, msg))
            elif isinstance(msg, Ack):
                replies.extend(m.on_ack(msg, now))
            elif isinstance(msg, IndirectPing):
                replies.extend(m.on_indirect_ping(src, msg, now))
            elif isinstance(msg, Nack):
                m.on_nack(msg)
            elif isinstance(msg, Digest):
                digest = msg
            else:
                self._drop("unexpected", now, f"{msg.KIND} in a datagram")
        for dst, reply in replies:
            out.append(self._send(dst, [reply], now))
        if digest is not None and self.tables:
            out.extend(self._on_digest(src, sender, digest, now))
        return out

    def _on_digest(self, src: Address, sender: str, digest: Digest, now: float) -> list[Output]:
        total, h = self.replication.digest()
        if digest.hash == h or digest.tables != self.replication.tables_hash:
            return []
        out: list[Output] = []
        if not digest.reply:
            budget = self.config.mtu - self._overhead - _DIGEST_SIZE
            recent = self.replication.recent_items(budget)
            out.append(
                self._send(src, [Digest(total, h, self.replication.tables_hash, True)], now, recent)
            )
        if digest.total > total:
            # the peer provably holds deltas we lack; if that lasts (not just a write in
            # flight), fetch them by push-pull
            window = 3 * self.config.gap_timeout
            if self._behind_since is None or now - self._behind_last > window:
                self._behind_since = now
            self._behind_last = now
            if (
                now - self._behind_since >= self.config.gap_timeout
                and now - self._last_escalation >= self.config.pull_escalation_interval
                and src not in self._pulling
            ):
                self._behind_since = None
                self._last_escalation = now
                out.append(self._push_pull(src, sender, join=False))
        return out

    # ---- timers ---------------------------------------------------------------------------------

    def tick(self, now: float) -> list[Output]:
        """Run due timers: probes, suspicion timeouts, gossip, push-pull, gap repair."""
        self._clock(now)
        out: list[Output] = []
        for dst, msg in self.membership.tick(now):
            out.append(self._send(dst, [msg], now))
        cfg = self.config
        if now >= self._next_gossip:
            while self._next_gossip <= now:
                self._next_gossip += cfg.gossip_interval
            out.extend(self._gossip(now))
        left = self.membership.left
        if now >= self._next_push_pull:
            interval = push_pull_scale(cfg.push_pull_interval, self.membership.live_count())
            self._next_push_pull = now + interval
            if not left:
                for dst in self.membership.random_peers(1, now, include_dead=False):
                    if dst not in self._pulling:
                        out.append(self._push_pull(dst, None, join=False))
        if self._streams and now >= self._next_stream_sweep:
            self._next_stream_sweep = now + cfg.stream_expiry
            for sid, st in list(self._streams.items()):
                if now - st.opened > cfg.stream_expiry:  # the shell never answered it
                    del self._streams[sid]
                    self._release(st.dst)
                    self.metrics.drop("stream_expired")
        if now >= self._next_reconnect:
            self._next_reconnect = now + cfg.reconnect_interval
            dead = self.membership.random_dead()
            if dead is not None and not left and dead not in self._pulling:
                out.append(self._push_pull(dead, None, join=False))
            if self.membership.live_count() == 1 and not left:
                # alone: the seeds were unreachable when we joined (or we were cut off)
                for seed in self._seeds:
                    if seed not in self._pulling:
                        out.append(self._push_pull(seed, None, join=True))
        pulls = self.replication.tick(now)
        if not left:
            for host in sorted(pulls):  # sorted: deterministic order
                addr = self.membership.address_of(host)
                if addr is not None and addr not in self._pulling:
                    out.append(self._push_pull(addr, host, join=False))
            if self.replication.want_push:
                for dst in self.membership.random_peers(cfg.gossip_fanout, now, False):
                    if dst not in self._pulling:
                        out.append(self._push_pull(dst, None, join=False))
        self.replication.want_push = False
        self.queue.prune(max(cfg.queue_min_depth, 2 * self.membership.live_count()))
        return out

    def _gossip(self, now: float) -> list[Output]:
        total, h = self.replication.digest()
        digest = [Digest(total, h, self.replication.tables_hash, False)] if self.tables else []
        if len(self.queue):
            peers = self.membership.random_peers(self.config.gossip_fanout, now)
        elif digest:
            peers = self.membership.random_peers(self.config.gossip_pull_fanout, now, False)
        else:
            return []
        return [self._send(dst, digest, now) for dst in peers]

    def next_deadline(self) -> float:
        """The earliest `now` at which tick() has work."""
        if not self._started:
            return self._now
        r = self.replication
        if r.want_push or r.pull_from:
            return self._now
        return min(
            self._next_gossip,
            self._next_push_pull,
            self._next_reconnect,
            self.membership.next_deadline(),
            r.next_deadline(),
        )

    def deadlines(self) -> dict[str, float]:
        """Each timer's next due time (diagnostics: what next_deadline() is made of)."""
        r = self.replication
        return {
            "gossip": self._next_gossip,
            "push_pull": self._next_push_pull,
            "reconnect": self._next_reconnect,
            "membership": self.membership.next_deadline(),
            "gaps": r.next_deadline(),
            "urgent": self._now if (r.want_push or r.pull_from) else math.inf,
        }

    # ---- streams -------------------------------------------------------------------------------

    def _stream(self, kind: str, dst: Address, peer: str | None, msg: Message) -> OpenStream:
        self._stream_seq = (self._stream_seq + 1) & 0x7FFFFFFF
        sid = self._stream_seq
        self._streams[sid] = _Stream(kind, dst, peer, self._now)
        self._pulling[dst] = self._pulling.get(dst, 0) + 1
        request = encode_envelope(self.meta.host_id, self._now, [encode_message(msg)], self.keyring)
        self.metrics.messages_out[msg.KIND] += 1
        self.metrics.bytes_out["stream"] += len(request)
        return OpenStream(dst, request, sid)

    def _release(self, dst: Address) -> None:
        left = self._pulling.get(dst, 0) - 1
        if left > 0:
            self._pulling[dst] = left
        else:
            self._pulling.pop(dst, None)

    def _push_pull(self, dst: Address, peer: str | None, join: bool) -> OpenStream:
        self.metrics.push_pulls += 1
        msg = PushPull(join, self.membership.local_state(), self.replication.vvs())
        return self._stream("push_pull", dst, peer, msg)

    def handle_stream_request(self, now: float, src: Address, request: bytes) -> bytes:
        """Server side of a stream: answer one push-pull or state-chunk request."""
        self._clock(now)
        self.metrics.messages_in["stream"] += 1
        self.metrics.bytes_in["stream"] += len(request)
        opened = self._open(request, now, self.config.max_incoming_stream_bytes)
        if opened is None:
            return b""
        sender, _, msgs = opened
        if len(msgs) != 1:
            self._drop("malformed", now, "stream request must hold one message")
            return b""
        msg = msgs[0]
        self.metrics.messages_in[msg.KIND] += 1
        reply: Message
        if isinstance(msg, PushPull):
            self.membership.merge_remote(msg.members, sender, now)
            self._peer_vvs[sender] = msg.vvs
            members = self.membership.local_state()
            vvs = self.replication.vvs()
            base = len(encode_message(PushPullReply(members, vvs, [], [], False)))
            budget = self.config.max_stream_bytes - base - 64
            deltas, chunks, more = self.replication.answer(msg.vvs, budget, now)
            reply = PushPullReply(members, vvs, deltas, chunks, more)
            if self.replication.lacks(msg.vvs) and sender != self.meta.host_id:
                self.replication.pull_from.add(sender)
        elif isinstance(msg, StateRequest):
            budget = self.config.max_stream_bytes
            reply = self.replication.serve_chunk(msg.table, msg.snapshot, msg.offset, budget, now)
        else:
            self._drop("unexpected", now, f"{msg.KIND} as a stream request")
            return b""
        data = encode_envelope(self.meta.host_id, now, [encode_message(reply)], self.keyring)
        self.metrics.messages_out[reply.KIND] += 1
        self.metrics.bytes_out["stream"] += len(data)
        return data

    def handle_stream_response(
        self, now: float, stream_id: int, response: bytes | None
    ) -> list[Output]:
        """Client side of a stream: the reply to an OpenStream (None if it failed)."""
        self._clock(now)
        ctx = self._streams.pop(stream_id, None)
        if ctx is None:
            return []
        self._release(ctx.dst)
        if response is None:
            self.metrics.drop("stream_failed")
            return []
        self.metrics.messages_in["stream"] += 1
        self.metrics.bytes_in["stream"] += len(response)
        opened = self._open(response, now, self.config.max_incoming_stream_bytes)
        if opened is None:
            return []
        sender, _, msgs = opened
        if len(msgs) != 1:
            self._drop("malformed", now, "stream reply must hold one message")
            return []
        msg = msgs[0]
        self.metrics.messages_in[msg.KIND] += 1
        out: list[Output] = []
        if isinstance(msg, PushPullReply) and ctx.kind == "push_pull":
            self.membership.merge_remote(msg.members, sender, now)
            self._peer_vvs[sender] = msg.vvs
            for delta in msg.deltas:
                self.replication.on_delta(delta, now, sender, relay=False)
            for chunk in msg.chunks:
                out.extend(self._on_chunk(chunk, ctx.dst, sender, now))
            if msg.more and ctx.dst not in self._pulling:
                out.append(self._push_pull(ctx.dst, sender, join=False))
        elif isinstance(msg, StateChunk) and ctx.kind == "state":
            nxt = self.replication.on_chunk(msg, now, sender)
            if isinstance(nxt, StateRequest):
                out.append(self._stream("state", ctx.dst, sender, nxt))
            done = nxt is ChunkOutcome.APPLIED or msg.snapshot == 0
            if done and ctx.dst not in self._pulling:
                # a transfer finished (or its snapshot expired): one more push-pull fetches
                # what changed meanwhile (or restarts); an abandoned one waits for timers
                out.append(self._push_pull(ctx.dst, sender, join=False))
        else:
            self._drop("unexpected", now, f"{msg.KIND} as a stream reply")
        return out

    def _on_chunk(self, chunk: StateChunk, dst: Address, sender: str, now: float) -> list[Output]:
        nxt = self.replication.on_chunk(chunk, now, sender)
        if not isinstance(nxt, StateRequest):
            return []
        return [self._stream("state", dst, sender, nxt)]
