"""NodeDriver: runs a sans-IO MeshNode over real UDP (probes, gossip) and TCP (push-pull).

One task calls ``node.tick(now)`` at ``node.next_deadline()`` (``now`` is ``loop.time()``);
datagrams go to ``receive_datagram``; inbound TCP requests are answered with
``handle_stream_request`` once their first frame is in and opens (``StreamGate``: per-source,
pending and serving limits, a frame deadline); ``OpenStream`` outputs become outbound
connections whose reply (or ``None`` on any failure) goes to ``handle_stream_response``. All
node calls happen on the loop thread, so the node needs no locking. Nothing a peer sends
can crash the driver.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Coroutine, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from mesh.address import Address
from mesh.events import Event
from mesh.keyring import Keyring
from mesh.outputs import OpenStream, Output, SendDatagram
from mesh.transport.framing import FrameError, encode_frame, read_frame
from mesh.transport.preauth import opens
from mesh.transport.ratelog import RateLimitedLog
from mesh.transport.stream_gate import REFUSALS, GateLimits, StreamGate

log = logging.getLogger("mesh.transport")
EventListener = Callable[[Event], None]


class DrivenNode(Protocol):
    """What the driver calls on the sans-IO core (a MeshNode satisfies it)."""

    def join(self, now: float, seeds: Sequence[Address]) -> list[Output]: ...

    def leave(self, now: float) -> list[Output]: ...

    def tick(self, now: float) -> list[Output]: ...

    def next_deadline(self) -> float: ...

    def receive_datagram(self, now: float, src: Address, payload: bytes) -> list[Output]: ...

    def handle_stream_request(self, now: float, src: Address, request: bytes) -> bytes: ...

    def handle_stream_response(
        self, now: float, stream_id: int, response: bytes | None
    ) -> list[Output]: ...

    def drain_events(self) -> Sequence[Event]: ...


@dataclass(frozen=True, slots=True)
class TransportSettings:
    """Shell-side limits; protocol timings live in the node's MeshConfig."""

    # Largest TCP frame accepted or sent (push-pull / state transfer); bounds memory per peer.
    max_stream_bytes: int = 32 * 1024 * 1024
    # Timeout of an outbound exchange and of writing an inbound reply, so a stalled peer
    # frees its slot (the inbound request itself has the shorter frame_timeout).
    stream_timeout: float = 10.0
    # Deadline from accept to the whole first frame (header + body) of an inbound stream,
    # not renewed by data: a peer trickling bytes loses its slot (MeshConfig has the reason).
    frame_timeout: float = 2.0
    # TCP connect timeout for outbound streams.
    connect_timeout: float = 3.0
    # Inbound TCP exchanges served at once (first frame in and authentic); more are counted.
    max_inbound_streams: int = 32
    # Inbound connections still waiting for their first frame; more are closed and counted.
    max_pending_streams: int = 64
    # Inbound streams (in either stage) from one source address; more are closed and counted.
    max_streams_per_source: int = 8
    # Largest UDP payload sent; the core keeps to it (config.mtu), the shell enforces it.
    mtu: int = 1400
    # Upper bound on one sleep of the tick loop (a safety net if next_deadline() is far away).
    max_sleep: float = 1.0


@dataclass(slots=True)
class ShellCounters:
    """Failures seen by the shell itself (the core counts protocol-level drops)."""

    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(REFUSALS, 0))
    """By reason; the declared stream refusals are present from the start (at zero)."""

    def inc(self, reason: str, n: int = 1) -> None:
        self.counts[reason] = self.counts.get(reason, 0) + n


class _UdpProtocol(asyncio.DatagramProtocol):
    def __init__(self, driver: NodeDriver) -> None:
        self._driver = driver

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        self._driver._on_datagram(data, addr)

    def error_received(self, exc: Exception) -> None:
        # ICMP errors (port unreachable for a dead peer) surface here; SWIM handles the peer.
        self._driver.counters.inc("udp_error")


class NodeDriver:
    """Owns the sockets and the tick loop of one MeshNode."""

    def __init__(
        self,
        bind: Address,
        settings: TransportSettings | None = None,
        node: DrivenNode | None = None,
        keyring: Keyring | None = None,
    ) -> None:
        self.node = node
        self.settings = settings or TransportSettings()
        self._keyring = keyring
        self._gate = StreamGate(
            GateLimits(
                max_serving=self.settings.max_inbound_streams,
                max_pending=self.settings.max_pending_streams,
                max_per_source=self.settings.max_streams_per_source,
            )
        )
        self.counters = ShellCounters()
        self._bind = bind
        self._bound: Address | None = None
        self._listeners: list[EventListener] = []
        self._udp: asyncio.DatagramTransport | None = None
        self._server: asyncio.Server | None = None
        self._loop_task: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._wake = asyncio.Event()
        self._closing = False
        self._rlog = RateLimitedLog(log)
        self._epoch_offset = 0.0
        self._sleep_until = 0.0  # when the tick loop will wake up by itself

    # -- lifecycle -----------------------------------------------------------------------

    @property
    def bound_address(self) -> Address:
        """The (host, port) actually bound (useful when port 0 was asked for)."""
        if self._bound is None:
            raise RuntimeError("driver not started")
        return self._bound

    async def bind(self) -> Address:
        """Bind the UDP and TCP sockets on the same port (port 0 picks a free one)."""
        loop = asyncio.get_running_loop()
        self._epoch_offset = time.time() - loop.time()
        host, port = self._bind
        attempts = 20 if port == 0 else 1
        last_exc: OSError | None = None
        for _ in range(attempts):
            udp, _proto = await loop.create_datagram_endpoint(
                lambda: _UdpProtocol(self), local_addr=(host, port)
            )
            real_port = int(udp.get_extra_info("sockname")[1])
            try:
                server = await asyncio.start_server(
                    self._serve_stream, host, real_port, reuse_address=True
                )
            except OSError as exc:
                udp.close()
                last_exc = exc
                continue
            self._udp, self._server = udp, server
            self._bound = (host, real_port)
            return self._bound
        assert last_exc is not None
        raise last_exc

    def attach(self, node: DrivenNode) -> None:
        """Set the MeshNode (input that arrives before this is ignored)."""
        self.node = node

    def _core(self) -> DrivenNode:
        """The attached node; RuntimeError before attach() (callers count and log it)."""
        if self.node is None:
            raise RuntimeError("no node attached")
        return self.node

    def start(self) -> None:
        """Start the tick loop (after :meth:`bind` and :meth:`attach`)."""
        if self.node is None:
            raise RuntimeError("attach a node before start()")
        if self._loop_task is None:
            self._loop_task = asyncio.get_running_loop().create_task(self._run())

    def add_listener(self, listener: EventListener) -> None:
        """Call ``listener(event)`` for every event drained from the node."""
        self._listeners.append(listener)

    async def join(self, seeds: Sequence[Address]) -> None:
        """Contact the seeds (no-op list starts a mesh of one)."""
        self.step(lambda now: self._core().join(now, list(seeds)))

    async def leave(self, linger: float) -> None:
        """Announce a graceful leave, then keep gossiping ``linger`` seconds so it spreads."""
        self.step(lambda now: self._core().leave(now))
        await asyncio.sleep(linger)

    async def close(self) -> None:
        """Stop the loop and close every socket."""
        self._closing = True
        if self._loop_task is not None:
            self._loop_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop_task
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._udp is not None:
            self._udp.close()
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 1.0)

    # -- driving the node ----------------------------------------------------------------

    def now(self) -> float:
        """loop.time() shifted onto the Unix epoch: monotonic within this process (no jumps),
        yet comparable across hosts, since the core compares sender timestamps with its own
        (max_message_age, convergence lag)."""
        return asyncio.get_running_loop().time() + self._epoch_offset

    def wake(self) -> None:
        """Re-read next_deadline() now (e.g. after a local table write)."""
        self._wake.set()

    def step(self, call: Callable[[float], Iterable[Output] | None]) -> None:
        """Run one node call with the current time, send its outputs, deliver its events."""
        try:
            outputs = call(self.now())
        except Exception:
            self.counters.inc("core_exception")
            log.exception("mesh core raised; input dropped")
            outputs = None
        if outputs:
            self._dispatch(outputs)
        self._drain_events()
        self.wake_if_due()

    def wake_if_due(self) -> None:
        """Wake the tick loop if the node now wants a tick before the loop means to wake."""
        try:
            due = float(self._core().next_deadline())
        except Exception:
            due = 0.0
        if due < self._sleep_until:
            self._wake.set()

    def _dispatch(self, outputs: Iterable[Output]) -> None:
        for out in outputs:
            if isinstance(out, SendDatagram):
                self._send_datagram(out.dst, out.payload)
            elif isinstance(out, OpenStream):
                self._spawn(self._open_stream(out.dst, out.request, out.stream_id))
            else:
                self.counters.inc("unknown_output")
                self._rlog.log(logging.WARNING, "output", "unknown node output %r", out)

    def _send_datagram(self, dst: Address, payload: bytes) -> None:
        if self._udp is None or self._closing:
            return
        if len(payload) > self.settings.mtu:
            self.counters.inc("datagram_over_mtu")
            self._rlog.log(
                logging.WARNING,
                "mtu",
                "dropped a %d-byte datagram (mtu %d)",
                len(payload),
                self.settings.mtu,
            )
            return
        try:
            self._udp.sendto(payload, (dst[0], dst[1]))
        except (OSError, ValueError, TypeError) as exc:
            self.counters.inc("udp_send_error")
            self._rlog.log(logging.WARNING, "udp_send", "udp send to %s failed: %s", dst, exc)

    def _drain_events(self) -> None:
        try:
            events = self._core().drain_events()
        except Exception:
            log.exception("drain_events failed")
            return
        for event in events:
            for listener in list(self._listeners):
                try:
                    listener(event)
                except Exception:
                    log.exception("event listener failed")

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task: asyncio.Task[None] = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self) -> None:
        while True:
            self.step(lambda now: self._core().tick(now))
            self._wake.clear()
            try:
                deadline = float(self._core().next_deadline())
            except Exception:
                log.exception("next_deadline failed")
                deadline = self.now() + self.settings.max_sleep
            now = self.now()
            delay = min(max(deadline - now, 0.001), self.settings.max_sleep)
            self._sleep_until = now + delay
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), delay)
            self._sleep_until = 0.0

    # -- UDP -------------------------------------------------------------------------------

    def _on_datagram(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        if self._closing or self.node is None:
            return
        src = (str(addr[0]), int(addr[1]))
        self.step(lambda now: self._core().receive_datagram(now, src, data))

    # -- TCP -------------------------------------------------------------------------------

    async def _serve_stream(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        """One inbound exchange: a pending slot while the first frame arrives (within
        frame_timeout), a serving slot once it is in and opens with our key."""
        peer = writer.get_extra_info("peername")
        src = (str(peer[0]), int(peer[1])) if peer else ("", 0)
        if self._closing or self.node is None:
            writer.close()
            return
        refused = self._gate.admit(src[0])
        if refused is not None:
            self._refuse(refused, src)
            writer.close()
            return
        serving = False
        try:
            try:
                request = await asyncio.wait_for(
                    read_frame(reader, self.settings.max_stream_bytes),
                    self.settings.frame_timeout,
                )
            except TimeoutError:
                self._refuse("stream_frame_timeout", src)
                return
            if not opens(request, self._keyring):
                # the core opens it again only to count it (drops{auth}) the documented way
                self._refuse("stream_unauthenticated", src)
                self._answer(src, request)
                return
            refused = self._gate.promote()
            if refused is not None:
                self._refuse(refused, src)
                return
            serving = True
            response = self._answer(src, request)
            if response is None:
                return  # dropped by the core: close without a reply (the peer sees a failure)
            if len(response) > self.settings.max_stream_bytes:
                self.counters.inc("stream_response_too_large")
                return
            writer.write(encode_frame(response))
            await asyncio.wait_for(writer.drain(), self.settings.stream_timeout)
        except (FrameError, TimeoutError, OSError) as exc:
            self.counters.inc("stream_in_error")
            self._rlog.log(logging.INFO, "stream_in", "inbound stream from %s: %s", peer, exc)
        finally:
            self._gate.release(src[0], serving)
            writer.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer.wait_closed(), 1.0)

    def _refuse(self, reason: str, src: Address) -> None:
        self.counters.inc(reason)
        self._rlog.log(logging.INFO, reason, "inbound stream from %s: %s", src, REFUSALS[reason])

    def _answer(self, src: Address, request: bytes) -> bytes | None:
        """The core's reply to one request; None when it dropped the request (an empty
        reply) or raised, so that no empty frame goes back to be counted as malformed."""
        try:
            response = self._core().handle_stream_request(self.now(), src, request)
        except Exception:
            self.counters.inc("core_exception")
            log.exception("handle_stream_request raised; request dropped")
            return None
        finally:
            self._drain_events()
            self.wake_if_due()
        return response or None

    async def _open_stream(self, dst: Address, request: bytes, stream_id: int) -> None:
        response: bytes | None = None
        writer: asyncio.StreamWriter | None = None
        try:
            if len(request) > self.settings.max_stream_bytes:
                raise FrameError("request exceeds max_stream_bytes")
            reader, conn = await asyncio.wait_for(
                asyncio.open_connection(dst[0], dst[1]), self.settings.connect_timeout
            )
            writer = conn
            conn.write(encode_frame(request))
            await asyncio.wait_for(conn.drain(), self.settings.stream_timeout)
            response = await asyncio.wait_for(
                read_frame(reader, self.settings.max_stream_bytes), self.settings.stream_timeout
            )
        except asyncio.CancelledError:
            raise
        except (FrameError, TimeoutError, OSError, ValueError) as exc:
            self.counters.inc("stream_out_error")
            self._rlog.log(logging.INFO, "stream_out", "stream to %s failed: %s", dst, exc)
            response = None
        finally:
            if writer is not None:
                writer.close()
        if not self._closing:
            self.step(lambda now: self._core().handle_stream_response(now, stream_id, response))
