"""Small helpers of the Cassandra tests: entries on fresh ports, waiting for a condition."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable

from services.session.entries import ConnEntry, NatEntry, SessionEntry, SessionPorts
from services.session.keys import ConnKey, FlowTuple
from services.session.nat import NatBinding, NatKind

KEYSPACE = "vnetmesh_test"


def new_port() -> str:
    """A port id no other test uses (tests share one keyspace; partitions are per port)."""
    return str(uuid.uuid4())


def conns(n: int, ingress: str, egress: tuple[str, ...] = (), base: int = 0) -> list[SessionEntry]:
    dev = str(uuid.UUID(int=0xD1))
    ports = SessionPorts(ingress, egress)
    return [
        ConnEntry(ConnKey(dev, FlowTuple(6, 0x0A000001, 1024 + base + i, 0x0A000002, 80)), ports)
        for i in range(n)
    ]


def snat(i: int, ingress: str, egress: tuple[str, ...] = ()) -> NatEntry:
    b = NatBinding(FlowTuple(17, 0x0A000001, 5000 + i, 8, 53), FlowTuple(17, 7, 30000 + i, 8, 53))
    return NatEntry(str(uuid.UUID(int=0xD2)), NatKind.SNAT, b, SessionPorts(ingress, egress))


async def eventually(pred: Callable[[], object], what: str, timeout: float = 30.0) -> None:
    """Poll ``pred`` until truthy; fail naming ``what`` after a generous timeout."""
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError(f"not reached within {timeout:.0f}s: {what}")
        await asyncio.sleep(0.05)
