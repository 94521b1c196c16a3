"""Upcall overflow is counted, never fatal: kernel handler socket ENOBUFS, userspace queue."""

from __future__ import annotations

import errno
import logging
from types import SimpleNamespace
from typing import Any

import pytest

from datapath.api import Upcall, UpcallKind
from datapath.flow import FlowKey
from datapath.odp import attrs as A
from datapath.odp.convert import match_attrs
from datapath.odp.datapath import KernelDatapath
from datapath.packet import build
from datapath.packet.parse import parse_packet
from datapath.userspace import UserspaceDatapath

FAMILY = 0x1D


class FakeHandler:
    """Plays back recv() results: bytes, or exceptions to raise."""

    def __init__(self, script: list[Any]) -> None:
        self.script = script

    def recv(self, _size: int) -> bytes:
        item = self.script.pop(0) if self.script else BlockingIOError()
        if isinstance(item, BaseException):
            raise item
        return bytes(item)


def upcall_datagram(frame: bytes) -> bytes:
    key = parse_packet(frame, in_port=1)
    k, _m = match_attrs(key, None)
    msg = A.ovs_packet_msg()
    msg["header"]["type"] = FAMILY
    msg["cmd"] = A.OVS_PACKET_CMD_MISS
    msg["version"] = 1
    msg["attrs"] = [["OVS_PACKET_ATTR_KEY", {"attrs": k}], ["OVS_PACKET_ATTR_PACKET", frame]]
    msg.encode()
    return bytes(msg.data)


async def test_kernel_handler_enobufs_is_counted(caplog: pytest.LogCaptureFixture) -> None:
    import asyncio

    frame = build.icmp_echo(1, 2, 3, 4, 5, 6)
    dp = KernelDatapath.__new__(KernelDatapath)
    dp.name = "t"
    dp.upcall_overflows = 0
    dp.bad_messages = 0
    dp._upcalls = asyncio.Queue(8)
    dp._packet = SimpleNamespace(family_id=FAMILY)  # type: ignore[assignment]
    dp._handler = FakeHandler(  # type: ignore[assignment]
        [OSError(errno.ENOBUFS, "No buffer space"), upcall_datagram(frame), b"\x08\0\0\0junk"]
    )
    with caplog.at_level(logging.WARNING):
        dp._on_upcalls()
    assert dp.upcall_overflows == 1
    assert "ENOBUFS" in caplog.text
    assert dp.bad_messages == 1  # the junk datagram
    up = dp._upcalls.get_nowait()
    assert up.kind is UpcallKind.MISS and up.packet == frame and up.key.icmp is not None


async def test_userspace_full_upcall_queue_counts_lost() -> None:
    dp = UserspaceDatapath("q", upcall_queue=1)
    up = Upcall(UpcallKind.MISS, FlowKey(), b"\0" * 14)
    dp._upcall(up)
    dp._upcall(up)
    dp._upcall(up)
    assert dp.lost == 2
    assert (await dp.stats()).lost == 2
    await dp.close()


async def test_factory_picks_a_backend() -> None:
    from datapath import DatapathError, create_datapath, kernel_available

    dp = await create_datapath("f0", backend="userspace")
    assert isinstance(dp, UserspaceDatapath)
    await dp.close()
    if not kernel_available():
        auto = await create_datapath("f1")
        assert isinstance(auto, UserspaceDatapath)
        await auto.close()
    with pytest.raises(DatapathError):
        await create_datapath("f2", backend="dpdk")
