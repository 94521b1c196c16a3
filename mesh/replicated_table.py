"""ReplicatedTable: what ``Mesh.table()`` returns. The core :class:`mesh.Table` with the
clock supplied by the running Mesh (no ``now=`` to pass), plus ``changes()`` and ``wait()``
for asyncio code. Usable as soon as the Mesh has started; declared before, it is created
(and restored from the data dir) when the Mesh starts."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Container, Hashable
from typing import TYPE_CHECKING, Generic, Protocol, TypeVar, cast

from crdt import CRDT

if TYPE_CHECKING:
    from mesh.table import Table

S = TypeVar("S", bound=CRDT)


class NotStarted(RuntimeError):
    """A table was read or written before its Mesh started (or after it closed)."""


class _Feed:
    """Change notifications for one ``changes()`` consumer, coalesced while it is busy, so
    a slow consumer never holds a growing queue (it sees the union of changed keys)."""

    __slots__ = ("_event", "_keys", "_whole")

    def __init__(self) -> None:
        self._event = asyncio.Event()
        self._keys: set[Hashable] = set()
        self._whole = False

    def push(self, keys: frozenset[Hashable]) -> None:
        if keys:
            self._keys |= keys
        else:
            self._whole = True
        self._event.set()

    async def next(self) -> frozenset[Hashable]:
        await self._event.wait()
        self._event.clear()
        keys = frozenset() if self._whole else frozenset(self._keys)
        self._keys, self._whole = set(), False
        return keys


class ChangeStream:
    """What ``ReplicatedTable.changes()`` returns: an async iterator of changed-key sets,
    subscribed from the moment it was made."""

    def __init__(
        self, subscribe: Callable[[Callable[[frozenset[Hashable]], None]], Callable[[], None]]
    ) -> None:
        self._feed = _Feed()
        self._unsubscribe: Callable[[], None] | None = subscribe(self._feed.push)

    def __aiter__(self) -> ChangeStream:
        return self

    async def __anext__(self) -> frozenset[Hashable]:
        if self._unsubscribe is None:
            raise StopAsyncIteration
        return await self._feed.next()

    async def aclose(self) -> None:
        """Stop receiving changes."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    def __del__(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()


class _Clock(Protocol):
    """What a table needs of its Mesh: the clock that drives the node, and a nudge after a
    local write so it is gossiped at once."""

    def now(self) -> float: ...

    def wake(self) -> None: ...


class ReplicatedTable(Generic[S]):
    """One replicated CRDT table of a running :class:`mesh.Mesh`. Reads and writes are
    local and immediate; writes spread to every member by gossip (see docs/library.md for
    what a write guarantees and how to wait for durability or replicas)."""

    __slots__ = ("_clock", "_core", "_subs", "factory", "name")

    def __init__(self, name: str, factory: Callable[[], S], clock: _Clock) -> None:
        self.name = name
        self.factory = factory
        self._clock = clock
        self._core: Table[S] | None = None
        self._subs: list[Callable[[frozenset[Hashable]], None]] = []

    # -- wiring (called by Mesh) ---------------------------------------------------------

    def _bind(self, core: Table[S]) -> None:
        self._core = core
        core.subscribe(self._fanout)

    def _unbind(self) -> None:
        self._core = None

    def _fanout(self, keys: frozenset[Hashable]) -> None:
        for cb in list(self._subs):
            cb(keys)

    @property
    def core(self) -> Table[S]:
        """The core table (``mesh.Table``) this wraps; NotStarted before the Mesh starts."""
        if self._core is None:
            raise NotStarted(f"table {self.name!r}: start the Mesh first")
        return self._core

    # -- reads ---------------------------------------------------------------------------

    @property
    def state(self) -> S:
        """The local CRDT state (read it; change it only through the write methods)."""
        return self.core.state

    @property
    def replica_id(self) -> str:
        """The replica id local writes are made with (unique per process lifetime)."""
        return self.core.replica_id

    def get(self, key: Hashable | None = None) -> object:
        """The plain value of the whole table (``get()``), or of one key of a map table
        (None when absent). Narrow it with isinstance: peers may have written anything."""
        value: object = self.core.get(key)
        return value

    def __contains__(self, key: object) -> bool:
        """True if ``key`` is present in a map table (even with a None value)."""
        state: object = self.core.state
        try:
            return key in cast("Container[object]", state)
        except TypeError:
            return False

    # -- writes --------------------------------------------------------------------------

    def mutate(self, fn: Callable[[S], S]) -> S:
        """``fn(state)`` returns a delta (e.g. ``lambda s: s.add(t.replica_id, x)``); it is
        applied locally, logged (with a data dir) and gossiped; returns the delta."""
        delta = self.core.mutate(fn, now=self._now())
        self._clock.wake()
        return delta

    def put(self, key: Hashable, value: object) -> CRDT:
        """Assign ``value`` to ``key`` of an ``ORMap(LWWRegister)`` table."""
        delta: CRDT = self.core.put(key, value, now=self._now())
        self._clock.wake()
        return delta

    def delete(self, key: Hashable) -> CRDT:
        """Remove ``key`` from an ``ORMap`` table."""
        delta: CRDT = self.core.delete(key, now=self._now())
        self._clock.wake()
        return delta

    def _now(self) -> float:
        self.core  # noqa: B018 - raises NotStarted before the Mesh runs
        return self._clock.now()

    # -- notifications -------------------------------------------------------------------

    def subscribe(self, cb: Callable[[frozenset[Hashable]], None]) -> Callable[[], None]:
        """Call ``cb(changed_keys)`` after every local or remote change (an empty set: the
        whole value changed); returns the unsubscribe function. Callbacks run on the loop
        and must not block."""
        self._subs.append(cb)

        def unsubscribe() -> None:
            if cb in self._subs:
                self._subs.remove(cb)

        return unsubscribe

    def changes(self) -> ChangeStream:
        """``async for keys in table.changes():`` the keys of every local and remote change
        from this call on (an empty set: the whole value changed). Changes that happen
        while the loop body runs are merged into the next item, so a slow consumer sees
        every key but not every step. ``aclose()`` (or leaving the loop) unsubscribes."""
        return ChangeStream(self.subscribe)

    async def wait(self, predicate: Callable[[ReplicatedTable[S]], bool], timeout: float) -> None:
        """Return once ``predicate(table)`` holds (checked now and after every change);
        TimeoutError after ``timeout`` seconds. For tests and scripts."""
        changed = asyncio.Event()
        unsubscribe = self.subscribe(lambda _keys: changed.set())
        try:
            async with asyncio.timeout(timeout):
                while not predicate(self):
                    await changed.wait()
                    changed.clear()
        except TimeoutError:
            raise TimeoutError(
                f"table {self.name!r}: condition not met within {timeout:g}s"
            ) from None
        finally:
            unsubscribe()
