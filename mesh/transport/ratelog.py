"""A logger wrapper that emits at most one line per key per interval (bad input floods)."""

from __future__ import annotations

import logging
import time


class RateLimitedLog:
    """Log ``msg`` under ``key`` at most once every ``interval`` seconds; count the rest."""

    def __init__(self, logger: logging.Logger, interval: float = 10.0) -> None:
        self._logger = logger
        self._interval = interval
        self._last: dict[str, float] = {}
        self._suppressed: dict[str, int] = {}

    def log(self, level: int, key: str, msg: str, *args: object) -> None:
        """Emit now if ``key`` was quiet for ``interval`` seconds, else count it."""
        now = time.monotonic()
        last = self._last.get(key)
        if last is not None and now - last < self._interval:
            self._suppressed[key] = self._suppressed.get(key, 0) + 1
            return
        self._last[key] = now
        skipped = self._suppressed.pop(key, 0)
        if skipped:
            msg = f"{msg} (suppressed={skipped})"
        self._logger.log(level, msg, *args)
