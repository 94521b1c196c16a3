"""Host membership through ZooKeeper ephemeral nodes: `<root>/members/<host_id>`.

Each host keeps one ephemeral znode holding its metadata (JSON) for as long as its
ZooKeeper session lives; a crashed host's node vanishes when its session expires. The
member set is read with one-shot watches on the members directory and on each member node,
re-armed by a rescan after every event (and after every reconnect, since kazoo drops
watches on disconnection). Callbacks run on this object's worker thread.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from mesh.zk.client import (
    CONNECTED,
    KazooException,
    NodeExistsError,
    NoNodeError,
    WatchedEvent,
    ZkClient,
    make_client,
)
from mesh.zk.codec import decode_meta, encode_meta
from mesh.zk.errors import ZkDataError, ZkError
from mesh.zk.paths import DEFAULT_ROOT, check_name, check_root, member_path, members_path
from mesh.zk.worker import SerialWorker

log = logging.getLogger(__name__)

Members = dict[str, dict[str, Any]]
ChangeCallback = Callable[[Members], None]


class ZkMembership:
    """Register this host as an ephemeral member and follow the member set.

    `hosts` may be a connection string (a private client is made and closed by stop())
    or a started KazooClient shared with other users (e.g. a LeaseManager).
    """

    def __init__(
        self,
        hosts: str | ZkClient,
        host_id: str,
        meta: dict[str, Any],
        *,
        root: str = DEFAULT_ROOT,
        session_timeout: float = 10.0,
        connect_timeout: float = 15.0,
    ) -> None:
        self.host_id = check_name(host_id, "host id")
        self.root = check_root(root)
        self._data = encode_meta(meta)
        self._meta = dict(meta)
        self._own_client = isinstance(hosts, str)
        self.client: ZkClient = (
            make_client(hosts, session_timeout) if isinstance(hosts, str) else hosts
        )
        self._connect_timeout = connect_timeout
        self._op_timeout = session_timeout
        self._path = member_path(self.root, self.host_id)
        self._dir = members_path(self.root)
        self._lock = threading.Lock()
        self._members: Members = {}
        self._callbacks: list[ChangeCallback] = []
        self._worker: SerialWorker | None = None
        self._running = False
        # Plain counters: registrations, stale nodes replaced, undecodable members, errors.
        self.counters: dict[str, int] = {
            "registrations": 0,
            "stale_replaced": 0,
            "bad_member_data": 0,
            "rescans": 0,
            "errors": 0,
        }

    # -- public API ---------------------------------------------------------------------

    def start(self) -> None:
        """Connect, register this host, read the member set; raise ZkError on failure."""
        if self._running:
            return
        self._worker = SerialWorker(f"zk-members-{self.host_id}")
        self._running = True
        try:
            if self._own_client:
                self.client.start(timeout=self._connect_timeout)
            self.client.add_listener(self._on_state)
            self._worker.submit(self._register).result()
            self._worker.submit(self._rescan, key="rescan").result()
        except Exception as e:
            self.stop()
            raise ZkError(f"ZooKeeper membership did not start: {e!r}") from e

    def stop(self) -> None:
        """Delete this host's node (a graceful leave) and close a private client.

        Never blocks for long: if ZooKeeper is unreachable the node is left to the end of
        the session (at once for a private client, which is closed).
        """
        if not self._running:
            return
        self._running = False
        self.client.remove_listener(self._on_state)
        sid = self._session_id()
        if sid is not None:
            try:
                stat = self.client.exists_async(self._path).get(timeout=self._op_timeout)
                if stat is not None and stat.ephemeralOwner == sid:
                    self.client.delete_async(self._path, version=stat.version).get(
                        timeout=self._op_timeout
                    )
            except Exception as e:
                log.info("zk membership: could not delete %s on stop: %r", self._path, e)
        if self._own_client:
            self.client.stop()
            self.client.close()
        if self._worker is not None:
            self._worker.stop(timeout=self._op_timeout)
            self._worker = None

    def members(self) -> Members:
        """The last known member set: host_id -> metadata."""
        with self._lock:
            return {k: dict(v) for k, v in self._members.items()}

    def on_change(self, cb: ChangeCallback) -> Callable[[], None]:
        """Call cb(members) on every change (worker thread); returns an unsubscribe function."""
        with self._lock:
            self._callbacks.append(cb)

        def unsubscribe() -> None:
            with self._lock:
                if cb in self._callbacks:
                    self._callbacks.remove(cb)

        return unsubscribe

    def update_meta(self, meta: dict[str, Any]) -> None:
        """Publish new metadata for this host (asynchronously)."""
        data = encode_meta(meta)
        with self._lock:
            self._data, self._meta = data, dict(meta)
        if self._worker is not None:
            self._worker.submit(self._register, key="register")

    @property
    def connected(self) -> bool:
        return bool(self.client.connected)

    # -- kazoo side ---------------------------------------------------------------------

    def _session_id(self) -> int | None:
        cid = self.client.client_id
        return None if cid is None else int(cid[0])

    def _on_state(self, state: str) -> None:
        # Connection thread: never block here, hand the work to the worker.
        if state == CONNECTED and self._worker is not None:
            self._worker.submit(self._register, key="register")
            self._worker.submit(self._rescan, key="rescan")

    def _on_watch(self, event: WatchedEvent) -> None:
        if self._running and self._worker is not None:
            self._worker.submit(self._rescan, key="rescan")

    def _register(self) -> None:
        """Make `<root>/members/<host_id>` ours with current data; replace a stale node."""
        if not self._running:
            return
        self.client.ensure_path(self._dir)
        for _ in range(5):
            sid = self._session_id()
            if sid is None:
                return  # not connected: the next CONNECTED resubmits
            with self._lock:
                data = self._data
            try:
                cur, stat = self.client.get(self._path)
            except NoNodeError:
                try:
                    self.client.create(self._path, data, ephemeral=True)
                    self.counters["registrations"] += 1
                    log.info("zk membership: registered %s", self._path)
                    return
                except NodeExistsError:
                    continue
            if stat.ephemeralOwner == sid:
                if cur != data:
                    self.client.set(self._path, data, version=stat.version)
                return
            # Left by an earlier session of this host (restart within the session timeout).
            log.warning(
                "zk membership: replacing %s owned by session %#x", self._path, stat.ephemeralOwner
            )
            try:
                self.client.delete(self._path, version=stat.version)
                self.counters["stale_replaced"] += 1
            except (NoNodeError, KazooException):
                pass
        self.counters["errors"] += 1
        log.error("zk membership: could not register %s (contended)", self._path)

    def _rescan(self) -> None:
        """Read all member nodes, re-arming the watches; notify if the set changed."""
        if not self._running:
            return
        self.counters["rescans"] += 1
        try:
            children = self.client.get_children(self._dir, watch=self._on_watch)
        except NoNodeError:
            self.client.ensure_path(self._dir)
            children = self.client.get_children(self._dir, watch=self._on_watch)
        if self.host_id not in children and self._worker is not None:
            # Our node was deleted while our session lives (by hand, or by a restarted twin
            # that then stopped): put it back.
            self._worker.submit(self._register, key="register")
        found: Members = {}
        for child in sorted(children):
            try:
                data, _ = self.client.get(f"{self._dir}/{child}", watch=self._on_watch)
            except NoNodeError:
                continue  # deleted meanwhile: the children watch fires again
            try:
                found[child] = decode_meta(data)
            except ZkDataError as e:
                self.counters["bad_member_data"] += 1
                log.warning("zk membership: ignoring member %s: %s", child, e)
        with self._lock:
            if found == self._members:
                return
            self._members = found
            callbacks = list(self._callbacks)
        for cb in callbacks:
            try:
                cb({k: dict(v) for k, v in found.items()})
            except Exception:
                log.exception("zk membership: change callback failed")
