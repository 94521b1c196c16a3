"""A raw generic netlink socket for pipelined requests that only need an acknowledgement
(flow install, packet execute): send now, await the ACK by sequence number."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import socket

from datapath.api import DatapathError
from datapath.netns import in_netns
from datapath.odp.wire import (
    NETLINK_GENERIC,
    NLMSG_ERRNO,
    NLMSG_ERROR,
    NLMSG_HDR,
    unpack_errno,
    unpack_nlmsghdr,
)

log = logging.getLogger(__name__)


class AckChannel:
    """Requests with NLM_F_ACK; each returns when its ACK (or error) arrives."""

    def __init__(self, netns: str | None, timeout: float = 10.0) -> None:
        with in_netns(netns):
            sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_GENERIC)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        sock.bind((0, 0))
        sock.setblocking(False)
        self.sock = sock
        self.timeout = timeout
        self._seq = 0
        self._pending: dict[int, asyncio.Future[None]] = {}
        self._loop = asyncio.get_running_loop()
        self._loop.add_reader(sock.fileno(), self._on_readable)
        self.bad_replies = 0

    def next_seq(self) -> int:
        self._seq = (self._seq + 1) & 0xFFFFFFFF or 1
        return self._seq

    async def request(self, seq: int, data: bytes, what: str) -> None:
        """Send one packed request whose header carries ``seq``; raise DatapathError on error."""
        fut: asyncio.Future[None] = self._loop.create_future()
        self._pending[seq] = fut
        try:
            try:
                self.sock.send(data)
            except BlockingIOError:
                await self._loop.sock_sendall(self.sock, data)
            except OSError as exc:
                raise DatapathError(f"{what}: send failed: {exc}", exc.errno) from exc
            try:
                await asyncio.wait_for(fut, self.timeout)
            except TimeoutError as exc:
                raise DatapathError(f"{what}: no answer from the kernel", errno.ETIMEDOUT) from exc
            except DatapathError as exc:
                raise DatapathError(f"{what}: {exc}", exc.errno) from exc
        finally:
            self._pending.pop(seq, None)

    def _on_readable(self) -> None:
        while True:
            try:
                data = self.sock.recv(65536)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                if exc.errno == errno.ENOBUFS:  # lost acks: their requests will time out
                    log.warning("ack channel overflowed (ENOBUFS)")
                    continue
                return
            off = 0
            while off + NLMSG_HDR.size <= len(data):
                length, mtype, _flags, seq, _pid = unpack_nlmsghdr(data, off)
                if length < NLMSG_HDR.size or off + length > len(data):
                    self.bad_replies += 1
                    log.warning("ack channel: bad netlink length %d", length)
                    break
                if mtype == NLMSG_ERROR and length >= NLMSG_HDR.size + NLMSG_ERRNO.size:
                    code = unpack_errno(data, off + NLMSG_HDR.size)
                    fut = self._pending.get(seq)
                    if fut is not None and not fut.done():
                        if code == 0:
                            fut.set_result(None)
                        else:
                            fut.set_exception(
                                DatapathError(
                                    errno.errorcode.get(-code, str(code)) + f" ({-code})", -code
                                )
                            )
                off += (length + 3) & ~3

    def close(self) -> None:
        with contextlib.suppress(ValueError, OSError):
            self._loop.remove_reader(self.sock.fileno())
        self.sock.close()
        for fut in self._pending.values():
            if not fut.done():
                fut.set_exception(DatapathError("datapath closed", errno.ESHUTDOWN))
