"""SWIM membership with Lifeguard: probing, indirect probes with nacks, suspicion,
incarnation refutation, graceful leave, reaping, and an external (ZooKeeper) mode.

Pure: time comes in as `now`, randomness from the injected rng. Outgoing datagrams are
returned as (destination, message) pairs; the node frames them and piggybacks broadcasts.
Membership changes to spread are put on the shared broadcast queue."""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from mesh.address import Address
from mesh.awareness import Awareness
from mesh.broadcast_queue import BroadcastQueue
from mesh.codec import encode_message
from mesh.config import MeshConfig
from mesh.member import Member, MemberMeta, MemberState
from mesh.messages import Ack, Alive, Dead, IndirectPing, MemberTuple, Message, Nack, Ping, Suspect
from mesh.suspicion import Suspicion, confirmations_needed, suspicion_bounds

Send = tuple[Address, Message]
_GONE = (MemberState.DEAD, MemberState.LEFT)
_PROBED = (MemberState.ALIVE, MemberState.SUSPECT)
_DEAD_GOSSIP_CHANCE = 0.1
"""Share of gossip rounds that also go to one recently dead member (so it can refute)."""


@dataclass(slots=True)
class _Record:
    meta: MemberMeta
    state: MemberState
    incarnation: int
    changed_at: float
    suspicion: Suspicion | None = None

    def snapshot(self) -> Member:
        return Member(self.meta, self.state, self.incarnation)


@dataclass(slots=True)
class _Probe:
    seq: int
    target: str
    addr: Address
    indirect_at: float
    end_at: float
    indirect_sent: bool = False
    nacks_expected: int = 0
    nacks: int = 0


@dataclass(slots=True)
class _Relay:
    requester: Address
    seq: int
    deadline: float
    nack: bool


class Membership:
    """Who is in the mesh, as seen from one member."""

    def __init__(
        self,
        config: MeshConfig,
        meta: MemberMeta,
        rng: random.Random,
        queue: BroadcastQueue,
        on_change: Callable[[Member], None],
    ) -> None:
        self.config = config
        self.meta = meta
        self.rng = rng
        self.queue = queue
        self.on_change = on_change
        self.incarnation = 0
        self.left = False
        self.external = False
        self.awareness = Awareness(config.awareness_max_multiplier)
        self.records: dict[str, _Record] = {}
        self._peers: list[str] = []  # alive or suspect, not us: O(1) random choice
        self._peer_index: dict[str, int] = {}
        self._probe_order: list[str] = []
        self._probe_pos = 0
        self._probe: _Probe | None = None
        self._next_probe = 0.0
        self._relays: dict[int, _Relay] = {}
        self._seq = rng.getrandbits(24)
        self._suspects: set[str] = set()
        self._next_reap = math.inf

    # ---- views --------------------------------------------------------------------------

    def self_member(self) -> Member:
        """Our own entry."""
        state = MemberState.LEFT if self.left else MemberState.ALIVE
        return Member(self.meta, state, self.incarnation)

    def members(self) -> list[Member]:
        """Every known member including ourselves."""
        return [self.self_member(), *(r.snapshot() for r in self.records.values())]

    def live_count(self) -> int:
        """Alive or suspect members including ourselves (the N of the formulas)."""
        return len(self._peers) + 1

    def address_of(self, host_id: str) -> Address | None:
        """Gossip address of a known member."""
        rec = self.records.get(host_id)
        return rec.meta.gossip if rec is not None else None

    def random_peers(self, k: int, now: float, include_dead: bool = True) -> list[Address]:
        """Up to k distinct random live peers (plus, rarely, a recently dead one so it can
        hear that it was declared dead and refute)."""
        peers = self._peers
        n = len(peers)
        if n == 0 or k <= 0:
            chosen: list[str] = []
        elif n <= k:
            chosen = list(peers)
        elif k * 3 < n:
            picked: set[int] = set()
            while len(picked) < k:
                picked.add(self.rng.randrange(n))
            chosen = [peers[i] for i in picked]
        else:
            chosen = self.rng.sample(peers, k)
        out = [self.records[h].meta.gossip for h in chosen]
        if include_dead and self._any_gone() and self.rng.random() < _DEAD_GOSSIP_CHANCE:
            dead = self._recent_dead(now)
            if dead:
                out.append(self.records[self.rng.choice(dead)].meta.gossip)
        return out

    def random_dead(self) -> Address | None:
        """A random member we believe dead (not left): a reconnect candidate."""
        dead = [r for r in self.records.values() if r.state is MemberState.DEAD]
        return self.rng.choice(dead).meta.gossip if dead else None

    def _any_gone(self) -> bool:
        return len(self.records) > len(self._peers)

    def _recent_dead(self, now: float) -> list[str]:
        horizon = now - self.config.gossip_to_the_dead_time
        return [
            h
            for h, r in self.records.items()
            if r.state is MemberState.DEAD and r.changed_at >= horizon
        ]

    # ---- bookkeeping ------------------------------------------------------------------

    def _set_live(self, host_id: str, live: bool) -> None:
        idx = self._peer_index.get(host_id)
        if live and idx is None:
            self._peer_index[host_id] = len(self._peers)
            self._peers.append(host_id)
        elif not live and idx is not None:
            last = self._peers.pop()
            del self._peer_index[host_id]
            if last != host_id:
                self._peers[idx] = last
                self._peer_index[last] = idx

    def _set_state(self, rec: _Record, state: MemberState, now: float) -> None:
        rec.state = state
        rec.changed_at = now
        if state in _GONE:
            self._next_reap = min(self._next_reap, now + self.config.dead_reap_time)
        self._set_live(rec.meta.host_id, state not in _GONE)
        if state is MemberState.SUSPECT:
            self._suspects.add(rec.meta.host_id)
        else:
            self._suspects.discard(rec.meta.host_id)
            rec.suspicion = None

    def _broadcast(self, msg: Alive | Suspect | Dead) -> None:
        self.queue.queue(encode_message(msg), key=("member", msg.host_id))

    def _alive_msg(self) -> Alive:
        m = self.meta
        return Alive(m.host_id, self.incarnation, m.gossip, m.underlay, m.api)

    def _refute(self, incarnation: int) -> None:
        """Someone doubts us: outbid their incarnation and say we are alive."""
        self.incarnation = max(self.incarnation, incarnation) + 1
        self.awareness.apply_delta(1)
        self._broadcast(self._alive_msg())

    def announce(self) -> None:
        """Queue our own Alive (on join and after metadata changes)."""
        self._broadcast(self._alive_msg())

    def start(self, now: float) -> None:
        """The first `now` we are given: the first probe is due within one probe interval
        (random, so members started together do not probe in step)."""
        self._next_probe = now + self.rng.uniform(0, self.config.probe_interval)

    def rejoin(self) -> None:
        """Join again after a graceful leave: outbid our own "left" (a no-op if we never
        left)."""
        if self.left:
            self.left = False
            self.incarnation += 1

    def update_meta(self, meta: MemberMeta) -> None:
        """Our own metadata changed (same host id): a higher incarnation carries it."""
        self.meta = meta
        self.incarnation += 1
        self.announce()

    def restore_incarnation(self, floor: int) -> None:
        """After a restart: never announce an incarnation below one we used before."""
        self.incarnation = max(self.incarnation, floor)

    # ---- merging what we hear -----------------------------------------------------------

    def on_alive(self, msg: Alive, now: float) -> None:
        """An Alive message (broadcast or push-pull)."""
        if msg.host_id == self.meta.host_id:
            meta = MemberMeta(msg.host_id, msg.gossip, msg.underlay, msg.api)
            if self.left:
                return
            if msg.incarnation > self.incarnation or (
                msg.incarnation == self.incarnation and meta != self.meta
            ):
                self._refute(msg.incarnation)
            return
        if self.external:
            return
        meta = MemberMeta(msg.host_id, msg.gossip, msg.underlay, msg.api)
        rec = self.records.get(msg.host_id)
        if rec is None:
            rec = _Record(meta, MemberState.ALIVE, msg.incarnation, now)
            self.records[msg.host_id] = rec
            self._set_live(msg.host_id, True)
            self._probe_order.insert(self.rng.randint(0, len(self._probe_order)), msg.host_id)
        elif msg.incarnation > rec.incarnation:
            rec.meta = meta
            rec.incarnation = msg.incarnation
            self._set_state(rec, MemberState.ALIVE, now)
        else:
            return
        self._broadcast(msg)
        self.on_change(rec.snapshot())

    def _accused(self, msg: Suspect | Dead) -> _Record | None:
        """The record a Suspect or Dead message accuses, if it should be acted on.

        About us: refute it (unless we left) and act no further. About a member we do not
        know, hear of from ZooKeeper, have newer news of, or already count as gone: nothing.
        """
        if msg.host_id == self.meta.host_id:
            if not self.left and msg.incarnation >= self.incarnation:
                self._refute(msg.incarnation)
            return None
        rec = self.records.get(msg.host_id)
        if rec is None or self.external or msg.incarnation < rec.incarnation:
            return None
        if rec.state in _GONE:
            return None
        return rec

    def on_suspect(self, msg: Suspect, now: float) -> None:
        """A Suspect message: start or confirm a suspicion, or refute it if about us."""
        rec = self._accused(msg)
        if rec is None:
            return
        suspicion = rec.suspicion
        if suspicion is not None and msg.incarnation == rec.incarnation:
            if suspicion.confirm(msg.source):
                self._broadcast(msg)
            return
        n = self.live_count()
        low, high = suspicion_bounds(
            self.config.suspicion_mult,
            self.config.suspicion_max_timeout_mult,
            n,
            self.config.probe_interval,
        )
        k = confirmations_needed(self.config.suspicion_mult, n)
        rec.incarnation = msg.incarnation
        self._set_state(rec, MemberState.SUSPECT, now)
        rec.suspicion = Suspicion(now, msg.source, msg.incarnation, k, low, high)
        self._broadcast(msg)
        self.on_change(rec.snapshot())

    def on_dead(self, msg: Dead, now: float) -> None:
        """A Dead message (source == subject: it left gracefully)."""
        rec = self._accused(msg)
        if rec is None:
            return
        rec.incarnation = msg.incarnation
        state = MemberState.LEFT if msg.source == msg.host_id else MemberState.DEAD
        self._set_state(rec, state, now)
        self._broadcast(msg)
        self.on_change(rec.snapshot())

    def local_state(self) -> list[MemberTuple]:
        """Our member list for push-pull (ourselves first)."""
        out: list[MemberTuple] = []
        for m in self.members():
            meta = m.meta
            out.append(
                (meta.host_id, meta.gossip, meta.underlay, meta.api, m.state.value, m.incarnation)
            )
        return out

    def merge_remote(self, members: Sequence[MemberTuple], sender: str, now: float) -> None:
        """Merge a peer's member list (push-pull). A peer's "dead" is only a suspicion
        for us (we check for ourselves); "left" is final."""
        for host_id, gossip, underlay, api, state, inc in members:
            if state == "alive":
                self.on_alive(Alive(host_id, inc, gossip, underlay, api), now)
                continue
            if host_id not in self.records and host_id != self.meta.host_id:
                continue  # nothing to suspect or mourn about a member we never knew
            if state == "left":
                self.on_dead(Dead(host_id, inc, host_id), now)
            else:
                self.on_suspect(Suspect(host_id, inc, sender), now)

    # ---- probing --------------------------------------------------------------------------

    def _next_seq(self) -> int:
        self._seq = (self._seq + 1) & 0x7FFFFFFF
        return self._seq

    def _next_target(self) -> str | None:
        for _ in range(2):
            while self._probe_pos < len(self._probe_order):
                host = self._probe_order[self._probe_pos]
                self._probe_pos += 1
                rec = self.records.get(host)
                if rec is not None and rec.state not in _GONE:
                    return host
            order = [h for h in self._probe_order if h in self.records]
            self.rng.shuffle(order)
            self._probe_order = order
            self._probe_pos = 0
            if not self._peers:
                return None
        return None

    def on_ping(self, src: Address, msg: Ping) -> list[Send]:
        """Answer a probe (only if it is really for us: addresses get reused)."""
        if msg.target != self.meta.host_id:
            return []
        return [(src, Ack(msg.seq))]

    def on_indirect_ping(self, src: Address, msg: IndirectPing, now: float) -> list[Send]:
        """Probe `target` for the requester; relay its ack, or a nack on timeout."""
        seq = self._next_seq()
        deadline = now + self.awareness.scale(self.config.probe_timeout)
        self._relays[seq] = _Relay(src, msg.seq, deadline, msg.nack)
        return [(msg.addr, Ping(seq, msg.target))]

    def on_ack(self, msg: Ack, now: float) -> list[Send]:
        """An ack for our probe, or for a probe we relay."""
        probe = self._probe
        if probe is not None and probe.seq == msg.seq:
            self._probe = None
            self.awareness.apply_delta(-1)
            return []
        relay = self._relays.pop(msg.seq, None)
        if relay is not None:
            return [(relay.requester, Ack(relay.seq))]
        return []

    def on_nack(self, msg: Nack) -> None:
        """A relay could not reach our target either (so the relay is fine)."""
        probe = self._probe
        if probe is not None and probe.seq == msg.seq:
            probe.nacks += 1

    def tick(self, now: float) -> list[Send]:
        """Probe timers, relay timeouts, suspicion timeouts, reaping."""
        out: list[Send] = []
        if self._relays:
            for seq in [s for s, r in self._relays.items() if r.deadline <= now]:
                relay = self._relays.pop(seq)
                if relay.nack:
                    out.append((relay.requester, Nack(relay.seq)))
        if self._suspects:
            for host in sorted(self._suspects):  # sorted: deterministic order
                rec = self.records[host]
                if rec.suspicion is not None and rec.suspicion.deadline() <= now:
                    self.on_dead(Dead(host, rec.incarnation, self.meta.host_id), now)
        if not self.external and not self.left:
            out.extend(self._probe_tick(now))
        self._reap(now)
        return out

    def _probe_tick(self, now: float) -> list[Send]:
        out: list[Send] = []
        probe = self._probe
        if probe is not None and not probe.indirect_sent and now >= probe.indirect_at:
            probe.indirect_sent = True
            relays = [
                h
                for h in self.rng.sample(
                    self._peers, min(len(self._peers), self.config.indirect_checks + 1)
                )
                if h != probe.target
            ][: self.config.indirect_checks]
            probe.nacks_expected = len(relays)
            for h in relays:
                out.append(
                    (
                        self.records[h].meta.gossip,
                        IndirectPing(probe.seq, probe.target, probe.addr, True),
                    )
                )
        if probe is not None and now >= probe.end_at:
            self._probe = None
            delta = probe.nacks_expected - probe.nacks if probe.nacks_expected > 0 else 1
            self.awareness.apply_delta(delta)
            rec = self.records.get(probe.target)
            if rec is not None and rec.state in _PROBED:
                # Also when already suspect: our failed probe is an independent confirmation
                # that shortens the suspicion timeout (memberlist's probeNode does the same).
                # Without it a suspect probed by many members waits for the full timeout.
                self.on_suspect(Suspect(probe.target, rec.incarnation, self.meta.host_id), now)
        if self._probe is None and now >= self._next_probe:
            interval = self.awareness.scale(self.config.probe_interval)
            self._next_probe = now + interval
            target = self._next_target()
            if target is not None:
                rec = self.records[target]
                seq = self._next_seq()
                timeout = self.awareness.scale(self.config.probe_timeout)
                self._probe = _Probe(
                    seq, target, rec.meta.gossip, now + timeout, now + max(interval, 2 * timeout)
                )
                out.append((rec.meta.gossip, Ping(seq, target)))
        return out

    def _reap(self, now: float) -> None:
        if now < self._next_reap:
            return
        reap = self.config.dead_reap_time
        self._next_reap = math.inf
        for host, rec in list(self.records.items()):
            if rec.state in _GONE:
                if rec.changed_at + reap <= now:
                    del self.records[host]
                else:
                    self._next_reap = min(self._next_reap, rec.changed_at + reap)

    def next_deadline(self) -> float:
        """Earliest time tick() has work."""
        when = math.inf
        if not self.external and not self.left:
            probe = self._probe
            if probe is None:
                when = self._next_probe
            else:  # the next probe starts once this one ended, never earlier
                when = probe.end_at
                if not probe.indirect_sent:
                    when = min(when, probe.indirect_at)
        for relay in self._relays.values():
            when = min(when, relay.deadline)
        for host in self._suspects:
            s = self.records[host].suspicion
            if s is not None:
                when = min(when, s.deadline())
        return min(when, self._next_reap)

    # ---- leave and external mode ----------------------------------------------------------

    def leave(self) -> None:
        """Graceful leave: broadcast a Dead about ourselves (read as "left")."""
        if self.left:
            return
        self.left = True
        self._probe = None
        self._broadcast(Dead(self.meta.host_id, self.incarnation, self.meta.host_id))

    def set_external(self, metas: Sequence[MemberMeta] | None, now: float) -> None:
        """ZooKeeper mode: the member list is given; SWIM probing stops. None resumes SWIM."""
        if metas is None:
            self.external = False
            return
        self.external = True
        self._probe = None
        given = {m.host_id: m for m in metas if m.host_id != self.meta.host_id}
        for host, rec in self.records.items():
            if host not in given and rec.state not in _GONE:
                self._set_state(rec, MemberState.LEFT, now)
                self.on_change(rec.snapshot())
        for host, meta in given.items():
            known = self.records.get(host)
            if known is None:
                new = _Record(meta, MemberState.ALIVE, 0, now)
                self.records[host] = new
                self._set_live(host, True)
                self._probe_order.append(host)
                self.on_change(new.snapshot())
                continue
            rec = known
            if rec.meta != meta or rec.state is not MemberState.ALIVE:
                rec.meta = meta
                self._set_state(rec, MemberState.ALIVE, now)
                self.on_change(rec.snapshot())

    def prime(self, metas: Sequence[MemberMeta], now: float) -> None:
        """Learn members as alive without gossiping about it (simulation bootstrap)."""
        for meta in metas:
            if meta.host_id == self.meta.host_id or meta.host_id in self.records:
                continue
            self.records[meta.host_id] = _Record(meta, MemberState.ALIVE, 0, now)
            self._set_live(meta.host_id, True)
            self._probe_order.append(meta.host_id)
        self.rng.shuffle(self._probe_order)
        self._probe_pos = 0
