"""Causal context: the set of dots a state has seen, as a version vector plus a dot cloud.

The representation is kept canonical (always compacted): `vv[r] = n` means dots (r, 1..n)
were all seen, and the cloud holds only the seen dots that are not contiguous with the
vector. Equal dot sets therefore have equal representations, which keeps `==` and the
codec deterministic.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

from crdt.dot import Dot
from crdt.values import MAX_INT, check_replica


class CausalContext:
    """A compact set of dots (version vector plus cloud). Mutable: owned by one CRDT state."""

    __slots__ = ("_cloud", "_vv")

    def __init__(self, vv: Mapping[str, int] | None = None, cloud: Iterable[Dot] = ()) -> None:
        self._vv: dict[str, int] = {}
        self._cloud: set[Dot] = set()
        if vv:
            for r, n in vv.items():
                if n > 0:
                    self._vv[r] = n
        for d in cloud:
            self.add(Dot(d[0], d[1]))
        self._compact()

    @classmethod
    def from_dots(cls, dots: Iterable[Dot]) -> CausalContext:
        """A context holding exactly `dots`."""
        c = cls.__new__(cls)
        c._vv = {}
        c._cloud = set()
        add = c.add
        for d in dots:
            add(d)
        return c

    # -- queries -------------------------------------------------------------------------
    def __contains__(self, dot: object) -> bool:
        if not isinstance(dot, tuple) or len(dot) != 2:
            return False
        r, n = dot
        return bool(n <= self._vv.get(r, 0) or dot in self._cloud)

    def covers(self, dot: Dot) -> bool:
        """True if `dot` is in this context (fast path of `in`)."""
        return dot[1] <= self._vv.get(dot[0], 0) or dot in self._cloud

    @property
    def vv(self) -> dict[str, int]:
        """A copy of the version vector part."""
        return dict(self._vv)

    @property
    def cloud(self) -> frozenset[Dot]:
        """The dots seen beyond the version vector."""
        return frozenset(self._cloud)

    def dots(self) -> Iterator[Dot]:
        """Every dot in the context (may be many: the vector part is expanded)."""
        for r, n in self._vv.items():
            for i in range(1, n + 1):
                yield Dot(r, i)
        yield from self._cloud

    def dot_count(self) -> int:
        """How many dots `dots()` yields, in O(replicas + cloud)."""
        return sum(self._vv.values()) + len(self._cloud)

    def max_counter(self, replica: str) -> int:
        """The highest counter of `replica` seen (0 if none)."""
        m = self._vv.get(replica, 0)
        for r, n in self._cloud:
            if r == replica and n > m:
                m = n
        return m

    def next_dot(self, replica: str) -> Dot:
        """A fresh dot for `replica`: one past the highest it has seen."""
        check_replica(replica)
        n = self.max_counter(replica) + 1
        if n > MAX_INT:
            raise OverflowError("dot counter exhausted")
        return Dot(replica, n)

    def is_empty(self) -> bool:
        return not self._vv and not self._cloud

    # -- updates ---------------------------------------------------------------------------
    def add(self, dot: Dot) -> None:
        """Add one dot, keeping the representation compact."""
        r, n = dot
        vv = self._vv
        m = vv.get(r, 0)
        if n <= m:
            return
        if n == m + 1:
            cloud = self._cloud
            if cloud:
                nxt = Dot(r, n + 1)
                while nxt in cloud:
                    cloud.discard(nxt)
                    n += 1
                    nxt = Dot(r, n + 1)
            vv[r] = n
        else:
            self._cloud.add(dot if type(dot) is Dot else Dot(r, n))

    def update(self, other: CausalContext) -> None:
        """Join `other` into this context in place."""
        vv = self._vv
        raised = False
        for r, n in other._vv.items():
            if n > vv.get(r, 0):
                vv[r] = n
                raised = True
        if raised and self._cloud:
            self._compact()
        if other._cloud:
            add = self.add
            for d in other._cloud:
                add(d)

    def _compact(self) -> None:
        cloud = self._cloud
        if not cloud:
            return
        vv = self._vv
        for d in sorted(cloud):
            r, n = d
            m = vv.get(r, 0)
            if n <= m:
                cloud.discard(d)
            elif n == m + 1:
                vv[r] = n
                cloud.discard(d)

    def join(self, other: CausalContext) -> CausalContext:
        """A new context, the union of both."""
        c = self.copy()
        c.update(other)
        return c

    def copy(self) -> CausalContext:
        c = CausalContext.__new__(CausalContext)
        c._vv = dict(self._vv)
        c._cloud = set(self._cloud)
        return c

    # -- comparisons -------------------------------------------------------------------------
    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CausalContext):
            return NotImplemented
        return self._vv == other._vv and self._cloud == other._cloud

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        cloud = sorted(self._cloud)
        return f"CausalContext(vv={dict(sorted(self._vv.items()))!r}, cloud={cloud!r})"
