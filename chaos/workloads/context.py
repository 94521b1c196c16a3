"""What every workload gets: the cluster, the recorder, the HTTP client, a seeded random
source, client process numbers, and the events of the run (acks, stop)."""

from __future__ import annotations

import asyncio
import itertools
import random
from collections.abc import Callable
from dataclasses import dataclass, field

from chaos.cluster import Cluster
from chaos.recorder import Recorder
from chaos.workloads.client import Client

AckListener = Callable[[str, float], None]
"""Called with (host, monotonic time) the moment an agent acknowledged a write."""


@dataclass(eq=False)
class Context:
    cluster: Cluster
    recorder: Recorder
    client: Client
    rng: random.Random
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    ack_listeners: list[AckListener] = field(default_factory=list)
    _processes: itertools.count[int] = field(default_factory=lambda: itertools.count(0))

    @property
    def hosts(self) -> list[str]:
        return list(self.cluster.agents)

    def process(self) -> int:
        """A fresh client process number."""
        return next(self._processes)

    def acked(self, host: str, when: float) -> None:
        for listener in list(self.ack_listeners):
            listener(host, when)

    async def sleep(self, seconds: float) -> bool:
        """Sleep unless the run stops first; False once it has stopped."""
        try:
            await asyncio.wait_for(self.stop.wait(), seconds)
        except TimeoutError:
            return True
        return False
