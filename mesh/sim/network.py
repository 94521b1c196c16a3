"""A discrete-event network of MeshNodes in one process, with virtual time.

Datagrams suffer configurable loss, duplication, delay and jitter (jitter reorders);
partitions cut groups of members apart; crashed members neither tick nor receive. Streams
(push-pull, state chunks) are request/response pairs that fail (None) across a partition
or to a crashed member. Only the next tick of each node sits in the event heap, so a
thousand idle-ish members cost little."""

from __future__ import annotations

import heapq
import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from mesh.address import Address
from mesh.config import MeshConfig
from mesh.keyring import Keyring
from mesh.member import MemberMeta
from mesh.node import MeshNode
from mesh.outputs import OpenStream, Output, SendDatagram


@dataclass(frozen=True, slots=True)
class _Tick:
    addr: Address


@dataclass(frozen=True, slots=True)
class _Datagram:
    src: Address
    dst: Address
    payload: bytes


@dataclass(frozen=True, slots=True)
class _Request:
    src: Address
    out: OpenStream


@dataclass(frozen=True, slots=True)
class _Response:
    src: Address
    stream_id: int
    reply: bytes | None


_Event = _Tick | _Datagram | _Request | _Response
"""One scheduled delivery: a due tick, a datagram, a stream request or its reply."""


@dataclass(frozen=True, slots=True)
class LinkModel:
    """How datagrams travel: one-way latency plus uniform jitter, loss and duplication."""

    latency: float = 0.002
    jitter: float = 0.003
    loss: float = 0.0
    duplicate: float = 0.0
    stream_timeout: float = 2.0
    """A stream to an unreachable member fails (reply None) after this many seconds."""


class SimNetwork:
    """Virtual-time event loop delivering outputs between MeshNodes."""

    def __init__(self, seed: int = 0, link: LinkModel | None = None) -> None:
        self.rng = random.Random(seed)
        self.link = link or LinkModel()
        self.now = 0.0
        self.nodes: dict[Address, MeshNode] = {}
        self.down: set[Address] = set()
        self._group: dict[Address, int] = {}
        self._heap: list[tuple[float, int, _Event]] = []
        self._seq = 0
        self._scheduled: dict[Address, float] = {}
        self.delivered = 0
        self.dropped = 0
        self.events_processed = 0
        self._spins = 0

    # ---- topology -----------------------------------------------------------------------------

    def add(self, node: MeshNode) -> MeshNode:
        """Put a node on the network (it starts ticking)."""
        self.nodes[node.meta.gossip] = node
        self.down.discard(node.meta.gossip)
        self._reschedule(node.meta.gossip)
        return node

    def crash(self, addr: Address) -> None:
        """The member stops dead: no ticks, nothing delivered, no goodbye."""
        self.down.add(addr)
        self._scheduled.pop(addr, None)

    def remove(self, addr: Address) -> None:
        """Forget a (crashed) member entirely, e.g. before restarting it as a new node."""
        self.crash(addr)
        self.nodes.pop(addr, None)

    def partition(self, groups: Iterable[Iterable[Address]]) -> None:
        """Cut the network: members only reach members of their own group (members in no
        group form one more group)."""
        self._group = {}
        for i, group in enumerate(groups, start=1):
            for addr in group:
                self._group[addr] = i

    def heal(self) -> None:
        """Remove every partition."""
        self._group = {}

    def reachable(self, src: Address, dst: Address) -> bool:
        """Whether src can currently reach dst."""
        if dst in self.down or src in self.down or dst not in self.nodes:
            return False
        return self._group.get(src, 0) == self._group.get(dst, 0)

    # ---- driving ------------------------------------------------------------------------------

    def _push(self, when: float, event: _Event) -> None:
        self._seq += 1
        heapq.heappush(self._heap, (when, self._seq, event))

    def _reschedule(self, addr: Address, deadline: float | None = None) -> None:
        if addr in self.down or addr not in self.nodes:
            return
        if deadline is None:
            deadline = self.nodes[addr].next_deadline()
        when = max(deadline, self.now)
        current = self._scheduled.get(addr)
        if current is None or when < current:
            self._scheduled[addr] = when
            self._push(when, _Tick(addr))

    def inject(self, src: Address, outputs: Sequence[Output]) -> None:
        """Deliver outputs produced outside the loop (join, leave, writes)."""
        self._emit(src, outputs)
        self._reschedule(src)

    def _emit(self, src: Address, outputs: Iterable[Output]) -> None:
        link = self.link
        rng = self.rng
        for out in outputs:
            if isinstance(out, SendDatagram):
                node = self.nodes.get(src)
                if node is not None and len(out.payload) > node.config.mtu:
                    raise RuntimeError(f"{src} sent {len(out.payload)} bytes > mtu")
                copies = 2 if link.duplicate and rng.random() < link.duplicate else 1
                for _ in range(copies):
                    if link.loss and rng.random() < link.loss:
                        self.dropped += 1
                        continue
                    delay = link.latency + rng.random() * link.jitter
                    self._push(self.now + delay, _Datagram(src, out.dst, out.payload))
            elif isinstance(out, OpenStream):
                if self.reachable(src, out.dst):
                    delay = link.latency + rng.random() * link.jitter
                    self._push(self.now + delay, _Request(src, out))
                else:
                    self._push(self.now + link.stream_timeout, _Response(src, out.stream_id, None))

    def step(self) -> bool:
        """Process one event; False when nothing is left."""
        while self._heap:
            when, _, event = heapq.heappop(self._heap)
            if isinstance(event, _Tick) and self._scheduled.get(event.addr) != when:
                continue  # superseded
            self.now = max(self.now, when)
            self.events_processed += 1
            if isinstance(event, _Tick):
                addr = event.addr
                del self._scheduled[addr]
                node = self.nodes[addr]
                self._emit(addr, node.tick(self.now))
                deadline = node.next_deadline()
                if deadline <= self.now:
                    self._spins += 1
                    if self._spins > 10_000:
                        raise RuntimeError(
                            f"{node.meta.host_id} keeps asking for a tick at {self.now}: "
                            f"{node.deadlines()}"
                        )
                else:
                    self._spins = 0
                self._reschedule(addr, deadline)
            elif isinstance(event, _Datagram):
                src, dst, payload = event.src, event.dst, event.payload
                if not self.reachable(src, dst):
                    self.dropped += 1
                    return True
                self.delivered += 1
                self._emit(dst, self.nodes[dst].receive_datagram(self.now, src, payload))
                self._reschedule(dst)
            elif isinstance(event, _Request):
                src, req = event.src, event.out
                if not self.reachable(src, req.dst):
                    self._push(
                        self.now + self.link.stream_timeout, _Response(src, req.stream_id, None)
                    )
                    return True
                reply = self.nodes[req.dst].handle_stream_request(self.now, src, req.request)
                self._reschedule(req.dst)
                delay = self.link.latency + self.rng.random() * self.link.jitter
                ok = self.reachable(req.dst, src)
                self._push(self.now + delay, _Response(src, req.stream_id, reply if ok else None))
            else:
                src = event.src
                if src in self.down or src not in self.nodes:
                    return True
                node = self.nodes[src]
                self._emit(src, node.handle_stream_response(self.now, event.stream_id, event.reply))
                self._reschedule(src)
            return True
        return False

    def run_until(
        self,
        t: float,
        stop: Callable[[], bool] | None = None,
        check_every: float = 0.05,
    ) -> bool:
        """Advance virtual time to t (or until `stop()` holds, checked every check_every
        virtual seconds). Returns True if stopped by the predicate."""
        next_check = self.now
        while self._heap and self._heap[0][0] <= t:
            if stop is not None and self.now >= next_check:
                if stop():
                    return True
                next_check = self.now + check_every
            self.step()
        self.now = max(self.now, t)
        return stop() if stop is not None else False

    def run_for(self, dt: float, stop: Callable[[], bool] | None = None) -> bool:
        """run_until(now + dt)."""
        return self.run_until(self.now + dt, stop)

    # ---- views ------------------------------------------------------------------------------

    def live(self) -> list[MeshNode]:
        """Nodes that are up."""
        return [n for a, n in self.nodes.items() if a not in self.down]


def sim_address(i: int) -> Address:
    """Deterministic fake gossip address of member i."""
    return (f"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}", 7946)


def make_node(
    i: int,
    config: MeshConfig,
    seed: int,
    keyring: Keyring | None = None,
    host_id: str | None = None,
) -> MeshNode:
    """Member i of a simulated cluster."""
    addr = sim_address(i)
    meta = MemberMeta(host_id or f"h{i}", addr, f"192.168.{(i >> 8) & 255}.{i & 255}", None)
    return MeshNode(config, meta, rng=random.Random(seed * 1_000_003 + i), keyring=keyring)


def make_cluster(
    n: int,
    *,
    seed: int = 0,
    config: MeshConfig | None = None,
    link: LinkModel | None = None,
    keyring_factory: Callable[[int], Keyring | None] | None = None,
    tables: Callable[[MeshNode], None] | None = None,
    bootstrap: str = "prime",
) -> SimNetwork:
    """n members on a fresh SimNetwork. bootstrap="prime": everyone knows everyone
    at t=0 (fast, for dissemination studies); "join": each joins through member 0."""
    config = config or MeshConfig.lan()
    net = SimNetwork(seed, link)
    nodes = []
    for i in range(n):
        node = make_node(i, config, seed, keyring_factory(i) if keyring_factory else None)
        if tables is not None:
            tables(node)
        nodes.append(node)
    metas = [nd.meta for nd in nodes]
    for node in nodes:
        net.add(node)
        if bootstrap == "prime":
            node.prime_members(metas, 0.0)
    if bootstrap == "join":
        for node in nodes[1:]:
            net.inject(node.meta.gossip, node.join(net.now, [nodes[0].meta.gossip]))
    return net
