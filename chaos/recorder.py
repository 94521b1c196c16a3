"""Writes the run's history as it happens: one op a line in DIR/history.jsonl (the format of
chaos/history.py), flushed per line so an interrupted run still leaves a readable history."""

from __future__ import annotations

import time
from pathlib import Path
from typing import IO

from chaos.history import INFO, NEMESIS, Json, Op, write_op


class Recorder:
    """Timestamps are seconds since `t0` (time.monotonic(), system-wide, so helpers in other
    namespaces can report monotonic times that convert with :meth:`since`)."""

    def __init__(self, path: Path, t0: float | None = None) -> None:
        self.path = path
        self.t0 = time.monotonic() if t0 is None else t0
        self._fh: IO[str] | None = path.open("w", encoding="utf-8")
        self.count = 0

    def now(self) -> float:
        return round(time.monotonic() - self.t0, 6)

    def since(self, monotonic: float) -> float:
        """A time.monotonic() reading as seconds since the start (never negative)."""
        return round(max(0.0, monotonic - self.t0), 6)

    def op(
        self,
        process: int | str,
        type_: str,
        f: str,
        value: Json = None,
        node: str | None = None,
        error: str | None = None,
        at: float | None = None,
    ) -> Op:
        """Record one op now (or at `at`, seconds since the start) and return it."""
        op = Op(self.now() if at is None else at, process, type_, f, value, node, error)
        if self._fh is not None:
            write_op(self._fh, op)
            self.count += 1
        return op

    def nemesis(self, f: str, value: Json = None) -> Op:
        return self.op(NEMESIS, INFO, f, value)

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None
