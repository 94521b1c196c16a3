"""The kazoo surface the mesh uses, typed (kazoo ships no type hints): the client, znode
stats, watch events, connection states, ACLs and exceptions. The rest of mesh/zk imports
kazoo only through here, so an untyped value never leaks past this module."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal, Protocol, TypeVar, overload

from kazoo import exceptions as _exc
from kazoo.client import KazooClient, KazooState
from kazoo.protocol.states import EventType
from kazoo.security import make_acl, make_digest_acl

T_co = TypeVar("T_co", covariant=True)


class ZnodeStat(Protocol):
    """A znode's metadata (kazoo.protocol.states.ZnodeStat)."""

    @property
    def czxid(self) -> int: ...

    @property
    def mtime(self) -> int: ...

    @property
    def version(self) -> int: ...

    @property
    def ephemeralOwner(self) -> int: ...


class WatchedEvent(Protocol):
    """What a watch is called with (kazoo.protocol.states.WatchedEvent)."""

    @property
    def type(self) -> str: ...

    @property
    def state(self) -> str: ...

    @property
    def path(self) -> str | None: ...


class AsyncResult(Protocol[T_co]):
    """The result of a kazoo ``*_async`` call."""

    def get(self, block: bool = True, timeout: float | None = None) -> T_co: ...


class Acl(Protocol):
    """An ACL entry (kazoo.security.ACL); opaque to us."""

    @property
    def perms(self) -> int: ...


Watch = Callable[[WatchedEvent], object]
Listener = Callable[[str], object]


class ZkClient(Protocol):
    """The KazooClient calls membership and leases make."""

    @property
    def connected(self) -> bool: ...

    @property
    def client_id(self) -> tuple[int, bytes] | None: ...

    def start(self, timeout: float = 15) -> None: ...

    def stop(self) -> None: ...

    def close(self) -> None: ...

    def add_auth(self, scheme: str, credential: str) -> None: ...

    def add_listener(self, listener: Listener) -> None: ...

    def remove_listener(self, listener: Listener) -> None: ...

    def ensure_path(self, path: str, acl: Sequence[Acl] | None = None) -> object: ...

    def get(self, path: str, watch: Watch | None = None) -> tuple[bytes, ZnodeStat]: ...

    def set(self, path: str, value: bytes, version: int = -1) -> ZnodeStat: ...

    @overload
    def create(
        self,
        path: str,
        value: bytes = b"",
        acl: Sequence[Acl] | None = None,
        ephemeral: bool = False,
        sequence: bool = False,
        makepath: bool = False,
        include_data: Literal[False] = False,
    ) -> str: ...

    @overload
    def create(
        self,
        path: str,
        value: bytes = b"",
        acl: Sequence[Acl] | None = None,
        ephemeral: bool = False,
        sequence: bool = False,
        makepath: bool = False,
        *,
        include_data: Literal[True],
    ) -> tuple[str, ZnodeStat]: ...

    def delete(self, path: str, version: int = -1, recursive: bool = False) -> object: ...

    def exists(self, path: str, watch: Watch | None = None) -> ZnodeStat | None: ...

    def get_children(self, path: str, watch: Watch | None = None) -> list[str]: ...

    def set_async(self, path: str, value: bytes, version: int = -1) -> AsyncResult[ZnodeStat]: ...

    def delete_async(self, path: str, version: int = -1) -> AsyncResult[object]: ...

    def exists_async(
        self, path: str, watch: Watch | None = None
    ) -> AsyncResult[ZnodeStat | None]: ...


# Connection states (KazooState) and watch event types (EventType): plain strings.
CONNECTED: str = KazooState.CONNECTED
SUSPENDED: str = KazooState.SUSPENDED
LOST: str = KazooState.LOST
DELETED: str = EventType.DELETED
CHANGED: str = EventType.CHANGED

# The exceptions we catch (every kazoo error derives from KazooException).
KazooException: type[Exception] = _exc.KazooException
NoNodeError: type[Exception] = _exc.NoNodeError
NodeExistsError: type[Exception] = _exc.NodeExistsError
BadVersionError: type[Exception] = _exc.BadVersionError
NoAuthError: type[Exception] = _exc.NoAuthError


def make_client(hosts: str, session_timeout: float) -> ZkClient:
    """A KazooClient that retries connecting forever (sessions are re-established by us)."""
    client: ZkClient = KazooClient(
        hosts=hosts,
        timeout=session_timeout,
        connection_retry={"max_tries": -1, "delay": 0.1, "backoff": 2, "max_delay": 2.0},
    )
    return client


def digest_acl(user: str, password: str) -> Acl:
    """Full rights for the digest identity user:password."""
    acl: Acl = make_digest_acl(user, password, read=True, write=True, admin=True)
    return acl


def world_read_acl() -> Acl:
    """Read access for anyone."""
    acl: Acl = make_acl("world", "anyone", read=True)
    return acl
