"""A single background thread that runs ZooKeeper chores one at a time.

Kazoo calls state listeners on its connection thread, where blocking ZooKeeper calls
would deadlock; listeners and watches therefore only submit chores here. Chores with the
same key are coalesced while pending (ten watch events cause one rescan).
"""

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from mesh.zk.client import KazooException

log = logging.getLogger(__name__)


class SerialWorker:
    """Run submitted callables in submission order on one daemon thread."""

    def __init__(self, name: str) -> None:
        self._cond = threading.Condition()
        self._pending: OrderedDict[object, tuple[Callable[[], Any], Future[Any]]] = OrderedDict()
        self._stopping = False
        self._seq = 0
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def submit(self, fn: Callable[[], Any], key: object | None = None) -> Future[Any]:
        """Queue fn; if a chore with the same key is already pending, return its future."""
        with self._cond:
            if key is not None and key in self._pending:
                return self._pending[key][1]
            fut: Future[Any] = Future()
            if self._stopping:
                fut.set_exception(RuntimeError("worker stopped"))
                return fut
            if key is None:
                self._seq += 1
                key = ("anon", self._seq)
            self._pending[key] = (fn, fut)
            self._cond.notify()
            return fut

    def in_worker(self) -> bool:
        return threading.current_thread() is self._thread

    def stop(self, timeout: float = 10.0) -> None:
        """Finish the pending chores, then end the thread."""
        with self._cond:
            self._stopping = True
            self._cond.notify()
        if not self.in_worker():
            self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._pending and not self._stopping:
                    self._cond.wait()
                if not self._pending:
                    return
                _, (fn, fut) = self._pending.popitem(last=False)
            if not fut.set_running_or_notify_cancel():
                continue
            try:
                fut.set_result(fn())
            except BaseException as e:  # a chore must never kill the worker
                if isinstance(e, KazooException):
                    log.info("zk chore %r failed: %r", fn, e)  # connection trouble
                else:
                    log.exception("zk chore %r failed", fn)
                fut.set_exception(e)
