"""Pure bookkeeping of installed flows: hard-timeout deadlines, the cap, and the tag index.

The shell asks it which flows to delete (expired, evicted to stay under the cap, or carrying
an invalidated tag); it never touches a datapath itself.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from services.simulation.result import Tag


@dataclass(frozen=True, slots=True)
class TrackedFlow:
    """An installed flow as the agent knows it."""

    ufid: bytes
    tags: frozenset[Tag]
    installed: float
    deadline: float
    summary: object = None  # what /v1/flows says about it (formatted only when asked)


class FlowTracker:
    """Flows by UFID with a deadline heap and a two-level tag index: tag -> the distinct tag
    sets carrying it -> UFIDs. Flows along one path share one tag set (hundreds of rule tags
    with long chains), so adding a flow costs one lookup, not one index update per tag."""

    def __init__(self, max_flows: int) -> None:
        if max_flows < 1:
            raise ValueError("max_flows must be at least 1")
        self.max_flows = max_flows
        self._flows: dict[bytes, TrackedFlow] = {}
        self._by_set: dict[frozenset[Tag], set[bytes]] = {}
        self._by_tag: dict[Tag, set[frozenset[Tag]]] = {}
        self._heap: list[tuple[float, bytes]] = []

    def __len__(self) -> int:
        return len(self._flows)

    def __iter__(self) -> Iterator[TrackedFlow]:
        return iter(list(self._flows.values()))

    def get(self, ufid: bytes) -> TrackedFlow | None:
        return self._flows.get(ufid)

    def add(self, flow: TrackedFlow) -> list[bytes]:
        """Track `flow`; returns UFIDs evicted (soonest deadline first) to stay under the cap."""
        if flow.ufid in self._flows:
            self.remove(flow.ufid)
        evicted: list[bytes] = []
        while len(self._flows) >= self.max_flows:
            victim = self._pop_earliest()
            if victim is None:
                break
            evicted.append(victim)
        self._flows[flow.ufid] = flow
        ufids = self._by_set.get(flow.tags)
        if ufids is None:
            ufids = self._by_set[flow.tags] = set()
            for tag in flow.tags:
                self._by_tag.setdefault(tag, set()).add(flow.tags)
        ufids.add(flow.ufid)
        heapq.heappush(self._heap, (flow.deadline, flow.ufid))
        return evicted

    def remove(self, ufid: bytes) -> TrackedFlow | None:
        """Forget a flow (the heap entry is dropped lazily)."""
        flow = self._flows.pop(ufid, None)
        if flow is None:
            return None
        ufids = self._by_set.get(flow.tags)
        if ufids is not None:
            ufids.discard(ufid)
            if not ufids:
                del self._by_set[flow.tags]
                for tag in flow.tags:
                    sets = self._by_tag.get(tag)
                    if sets is not None:
                        sets.discard(flow.tags)
                        if not sets:
                            del self._by_tag[tag]
        return flow

    def _pop_earliest(self) -> bytes | None:
        while self._heap:
            deadline, ufid = heapq.heappop(self._heap)
            flow = self._flows.get(ufid)
            if flow is not None and flow.deadline == deadline:
                self.remove(ufid)
                return ufid
        return None

    def expired(self, now: float) -> list[bytes]:
        """Remove and return the flows whose hard timeout has passed."""
        out: list[bytes] = []
        while self._heap and self._heap[0][0] <= now:
            deadline, ufid = heapq.heappop(self._heap)
            flow = self._flows.get(ufid)
            if flow is not None and flow.deadline == deadline:
                self.remove(ufid)
                out.append(ufid)
        return out

    def invalidate(self, tags: Iterable[Tag]) -> list[bytes]:
        """Remove and return every flow carrying one of `tags`."""
        gone: set[bytes] = set()
        for tag in tags:
            for tag_set in self._by_tag.get(tag, ()):
                gone |= self._by_set[tag_set]
        for ufid in gone:
            self.remove(ufid)
        return sorted(gone)

    def clear(self) -> list[bytes]:
        """Forget everything; returns the UFIDs."""
        ufids = list(self._flows)
        self._flows.clear()
        self._by_set.clear()
        self._by_tag.clear()
        self._heap.clear()
        return ufids
