"""Exclusive, TTL-bounded, fenced leases on ZooKeeper: `<lease_root>/<name>`.

A lease is an ephemeral znode whose data records the holder and TTL; its czxid (the
transaction id that created it) is the fencing token, so every later holder has a larger
token. Only the holder can write the node (a digest ACL private to its LeaseManager), so a
renewal can never land on a successor's node. A lease not renewed within its TTL (judged on
ZooKeeper's clock: the node's mtime against a freshly touched clock node) may be deleted by a
contender (with a version check, so a concurrent renewal wins). A holder whose session is
SUSPENDED or LOST gives up all its leases at once and is told via on_lost. See
docs/zookeeper.md.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable

from mesh.zk.client import (
    CHANGED,
    CONNECTED,
    DELETED,
    LOST,
    SUSPENDED,
    BadVersionError,
    KazooException,
    NoAuthError,
    NodeExistsError,
    NoNodeError,
    WatchedEvent,
    ZkClient,
    ZnodeStat,
    digest_acl,
    make_client,
    world_read_acl,
)
from mesh.zk.codec import LeaseRecord, decode_lease, encode_lease, lease_expired
from mesh.zk.errors import ZkDataError, ZkError
from mesh.zk.paths import DEFAULT_LEASE_ROOT, check_name, check_root, clock_path, lease_path
from mesh.zk.worker import SerialWorker

log = logging.getLogger(__name__)

LostCallback = Callable[["Lease"], None]


def _waker(event: threading.Event) -> Callable[[WatchedEvent], None]:
    return lambda _e: event.set()


class Lease:
    """A held lease. Check `valid` before acting on it; pass `fencing_token` along with
    every write made under it, so that the receiver can reject a deposed holder's writes."""

    def __init__(
        self,
        manager: LeaseManager,
        name: str,
        fencing_token: int,
        ttl: float,
        version: int,
        started: float,
        on_lost: LostCallback | None,
    ) -> None:
        self.name = name
        self.fencing_token = fencing_token
        self.holder = manager.holder
        self.ttl = ttl
        # time.monotonic() deadline: taken before the write that set it, so it never runs
        # past the server-side expiry (mtime + ttl) that contenders go by.
        self.expires_at = started + ttl
        self._manager = manager
        self._version = version
        self._on_lost = on_lost
        self.lost = False
        self.released = False

    @property
    def valid(self) -> bool:
        """Held, session connected, and within the TTL since the last renewal."""
        return (
            not self.lost
            and not self.released
            and self._manager.connected
            and time.monotonic() < self.expires_at
        )

    def renew(self) -> bool:
        """Extend the lease by its TTL; False if it could not (lost, or not connected now)."""
        return self._manager._renew(self)

    def release(self) -> None:
        """Give the lease up (deletes the node if it is still ours); idempotent."""
        self._manager._release(self)

    def __repr__(self) -> str:
        state = "lost" if self.lost else "released" if self.released else "held"
        return f"<Lease {self.name} token={self.fencing_token} holder={self.holder} {state}>"


class LeaseManager:
    """Acquire and keep leases for one holder. Use one manager per ZooKeeper session.

    `client_or_hosts` is a connection string (a private client, started on first use and
    closed by close()) or a KazooClient shared with, e.g., ZkMembership.
    """

    def __init__(
        self,
        client_or_hosts: str | ZkClient,
        *,
        root: str = DEFAULT_LEASE_ROOT,
        holder: str | None = None,
        session_timeout: float = 10.0,
        connect_timeout: float = 15.0,
    ) -> None:
        self.root = check_root(root)
        self.holder = holder or f"{socket.gethostname()}:{os.getpid()}"
        self._own_client = isinstance(client_or_hosts, str)
        self.client: ZkClient = (
            make_client(client_or_hosts, session_timeout)
            if isinstance(client_or_hosts, str)
            else client_or_hosts
        )
        self._connect_timeout = connect_timeout
        self._op_timeout = session_timeout
        # A digest identity private to this manager: only it may write its lease nodes.
        user, password = "vnetmesh-lease", secrets.token_hex(16)
        self._credential = f"{user}:{password}"
        self._acl = [digest_acl(user, password), world_read_acl()]
        self._lock = threading.RLock()
        self._held: dict[str, Lease] = {}
        self._orphans: dict[str, int] = {}  # path -> czxid of leases given up on suspension
        self._worker: SerialWorker | None = None
        self._started = False
        # Plain counters for metrics.
        self.counters: dict[str, int] = {
            "acquired": 0,
            "taken_over": 0,
            "renewed": 0,
            "released": 0,
            "lost": 0,
            "bad_record": 0,
        }

    # -- lifecycle ----------------------------------------------------------------------

    def start(self) -> None:
        """Connect (private client) and prepare the lease root; called by acquire() too."""
        with self._lock:
            if self._started:
                return
            self._worker = SerialWorker("zk-leases")
            try:
                if self._own_client:
                    self.client.start(timeout=self._connect_timeout)
                self.client.add_auth("digest", self._credential)
                self.client.add_listener(self._on_state)
                self.client.ensure_path(self.root)
                self.client.ensure_path(clock_path(self.root))
            except Exception as e:
                self._worker.stop()
                self._worker = None
                raise ZkError(f"lease manager did not start: {e!r}") from e
            self._started = True

    def close(self) -> None:
        """Release every held lease and close a private client."""
        with self._lock:
            if not self._started:
                return
            leases = list(self._held.values())
        for lease in leases:
            lease.release()
        with self._lock:
            self._started = False
            self.client.remove_listener(self._on_state)
            worker, self._worker = self._worker, None
        if self._own_client:
            self.client.stop()
            self.client.close()
        if worker is not None:
            worker.stop(timeout=self._op_timeout)

    def __enter__(self) -> LeaseManager:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def connected(self) -> bool:
        return bool(self.client.connected)

    def held(self) -> dict[str, Lease]:
        with self._lock:
            return dict(self._held)

    # -- acquisition --------------------------------------------------------------------

    def acquire(self, name: str, ttl: float, on_lost: LostCallback | None = None) -> Lease | None:
        """Try once to take lease `name` for ttl seconds; None if someone holds it.

        Not re-entrant: None as well if this manager already holds it. Raises ZkError if
        ZooKeeper cannot be reached.
        """
        check_name(name, "lease name")
        if not 0 < ttl < 1e9:
            raise ValueError("lease ttl must be a positive number of seconds")
        self.start()
        if not self.client.connected:
            raise ZkError(f"lease {name}: not connected to ZooKeeper")
        path = lease_path(self.root, name)
        try:
            lease = self._try_create(name, path, ttl, on_lost)
            if lease is not None:
                return lease
            data, stat = self.client.get(path)
            with self._lock:
                if name in self._held:
                    return None
            try:
                record = decode_lease(data)
            except ZkDataError as e:
                self.counters["bad_record"] += 1
                log.warning("lease %s: undecodable record (%s); waiting for its session", name, e)
                return None
            if not lease_expired(stat.mtime, record.ttl, self.server_time_ms()):
                return None
            log.info("lease %s: taking over from %s (expired)", name, record.holder)
            self.client.delete(path, version=stat.version)
            self.counters["taken_over"] += 1
            return self._try_create(name, path, ttl, on_lost)
        except (NoNodeError, BadVersionError):
            return None  # changed under us: someone else is active on it
        except KazooException as e:
            raise ZkError(f"lease {name}: {e!r}") from e

    def acquire_wait(
        self, name: str, ttl: float, timeout: float, on_lost: LostCallback | None = None
    ) -> Lease | None:
        """Acquire, waiting up to timeout seconds for release or expiry; None on timeout."""
        deadline = time.monotonic() + timeout
        path = lease_path(self.root, check_name(name, "lease name"))
        while True:
            try:
                lease = self.acquire(name, ttl, on_lost)
            except ZkError:
                lease = None  # not connected right now: retry until the deadline
            if lease is not None:
                return lease
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            woken = threading.Event()
            try:
                if self.client.exists(path, watch=_waker(woken)) is None:
                    continue
            except KazooException:
                pass
            # Woken by release/renewal, else poll for TTL expiry.
            woken.wait(min(remaining, 0.5))

    def server_time_ms(self) -> int:
        """ZooKeeper's current clock (ms since the epoch), read by touching the clock node."""
        path = clock_path(self.root)
        try:
            stat: ZnodeStat = self.client.set(path, b"")
        except NoNodeError:  # deleted by hand: put it back
            self.client.ensure_path(path)
            stat = self.client.set(path, b"")
        return int(stat.mtime)

    # -- internals ----------------------------------------------------------------------

    def _record(self, ttl: float) -> bytes:
        return encode_lease(LeaseRecord(self.holder, ttl, time.time() + ttl))

    def _try_create(
        self, name: str, path: str, ttl: float, on_lost: LostCallback | None
    ) -> Lease | None:
        started = time.monotonic()
        try:
            _, stat = self.client.create(
                path, self._record(ttl), acl=self._acl, ephemeral=True, include_data=True
            )
        except NodeExistsError:
            return None
        lease = Lease(self, name, int(stat.czxid), ttl, int(stat.version), started, on_lost)
        with self._lock:
            self._held[name] = lease
            self._orphans.pop(path, None)
        self.counters["acquired"] += 1
        self._watch(path)
        log.info("lease %s acquired by %s, token %d", name, self.holder, lease.fencing_token)
        return lease

    def _watch(self, path: str) -> None:
        # Disconnected: the state listener takes over.
        with contextlib.suppress(KazooException):
            self.client.exists(path, watch=self._on_watch)

    def _renew(self, lease: Lease) -> bool:
        if lease.lost or lease.released:
            return False
        if not self.client.connected:
            return False
        path = lease_path(self.root, lease.name)
        started = time.monotonic()
        try:
            stat = self.client.set_async(path, self._record(lease.ttl), version=lease._version).get(
                timeout=self._op_timeout
            )
        except (BadVersionError, NoNodeError, NoAuthError):
            self._lose(lease, "taken over")
            return False
        except Exception as e:  # connection loss or timeout: not renewed, maybe not lost
            log.info("lease %s: renewal failed: %r", lease.name, e)
            return False
        with self._lock:
            if lease.lost or lease.released:
                return False
            lease._version = int(stat.version)
            lease.expires_at = started + lease.ttl
        self.counters["renewed"] += 1
        return True

    def _release(self, lease: Lease) -> None:
        with self._lock:
            if lease.released:
                return
            lease.released = True
            was_held = not lease.lost and self._held.get(lease.name) is lease
            if was_held:
                del self._held[lease.name]
        if not was_held:
            return
        self.counters["released"] += 1
        try:
            if not self.client.connected:
                raise ZkError("not connected")
            self.client.delete_async(lease_path(self.root, lease.name), version=lease._version).get(
                timeout=self._op_timeout
            )
        except (NoNodeError, BadVersionError):
            pass
        except Exception as e:
            # Not connected: the node goes with the session, or a contender takes it on
            # expiry; if the session survives, the reconnect cleanup deletes it.
            with self._lock:
                self._orphans[lease_path(self.root, lease.name)] = lease.fencing_token
            log.info("lease %s: release deferred: %r", lease.name, e)

    def _lose(self, lease: Lease, reason: str) -> None:
        with self._lock:
            if lease.lost or lease.released:
                return
            lease.lost = True
            if self._held.get(lease.name) is lease:
                del self._held[lease.name]
            worker = self._worker
        self.counters["lost"] += 1
        log.warning("lease %s (token %d) lost: %s", lease.name, lease.fencing_token, reason)
        cb = lease._on_lost
        if cb is not None:
            if worker is not None:
                worker.submit(lambda: cb(lease))
            else:
                cb(lease)

    def _on_state(self, state: str) -> None:
        # Connection thread: no blocking calls here.
        if state in (SUSPENDED, LOST):
            # Conservative: once disconnected, the session may expire (or the TTL run out)
            # before we hear of it, and someone else may then hold the lease.
            with self._lock:
                leases = list(self._held.values())
                if state == SUSPENDED:
                    for lease in leases:
                        self._orphans[lease_path(self.root, lease.name)] = lease.fencing_token
                else:
                    self._orphans.clear()  # the session is gone, and its nodes with it
            for lease in leases:
                self._lose(lease, f"ZooKeeper session {state.lower()}")
        elif state == CONNECTED:
            with self._lock:
                worker = self._worker
            if worker is not None:
                worker.submit(self._cleanup_orphans, key="orphans")

    def _cleanup_orphans(self) -> None:
        """After a reconnect within the session, delete leases we gave up on suspension."""
        cid = self.client.client_id
        if cid is None:
            return
        with self._lock:
            orphans = dict(self._orphans)
        for path, token in orphans.items():
            try:
                stat = self.client.exists(path)
                if stat is not None and stat.czxid == token and stat.ephemeralOwner == cid[0]:
                    self.client.delete(path, version=stat.version)
                    log.info("lease node %s (token %d) deleted after suspension", path, token)
            except (NoNodeError, BadVersionError):
                pass
            except KazooException as e:
                log.info("lease orphan %s: cleanup deferred: %r", path, e)
                continue
            with self._lock:
                if self._orphans.get(path) == token:
                    del self._orphans[path]

    def _on_watch(self, event: WatchedEvent) -> None:
        path = event.path
        if event.type in (DELETED, CHANGED) and path:
            with self._lock:
                worker = self._worker
            if worker is not None:
                worker.submit(lambda: self._check(path), key=("check", path))

    def _check(self, path: str) -> None:
        """A watched lease node changed: still ours (same czxid)? Re-arm the watch."""
        name = path.rsplit("/", 1)[-1]
        with self._lock:
            lease = self._held.get(name)
        if lease is None:
            return
        try:
            stat = self.client.exists(path, watch=self._on_watch)
        except KazooException:
            return  # disconnected: the state listener decides
        if stat is None or stat.czxid != lease.fencing_token:
            self._lose(lease, "node deleted or replaced")
