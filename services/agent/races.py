"""Flows computed while an invalidation ran (pure bookkeeping).

A flow is computed from the topology and learned state of one moment; if a tag it carries is
invalidated before it is installed, the install brings back a flow the invalidation meant to
delete. Each invalidation gets a generation number; a flow computed at generation ``g`` whose
tags meet those of a later invalidation has raced and is deleted again at once.
"""

from __future__ import annotations

import collections

from services.simulation.result import Tag

DEPTH = 256  # invalidations remembered (more while one flow is computed: assumed not raced)


class InvalidationLog:
    """The recent invalidations with their generation numbers."""

    __slots__ = ("_gen", "_log")

    def __init__(self, depth: int = DEPTH) -> None:
        self._gen = 0
        self._log: collections.deque[tuple[int, frozenset[Tag]]] = collections.deque(maxlen=depth)

    @property
    def generation(self) -> int:
        """The current generation (read it before computing a flow)."""
        return self._gen

    def invalidated(self, tags: frozenset[Tag]) -> None:
        """Record an invalidation of ``tags`` (the next generation)."""
        self._gen += 1
        self._log.append((self._gen, tags))

    def raced(self, since: int, tags: frozenset[Tag]) -> bool:
        """A flow carrying ``tags``, computed at generation ``since``, missed a later
        invalidation of one of them."""
        if since == self._gen:
            return False
        return any(g > since and not tags.isdisjoint(t) for g, t in self._log)
