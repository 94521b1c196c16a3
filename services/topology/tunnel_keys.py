"""Deterministic, collision-free 24-bit tunnel keys for ports.

Every agent derives the same keys from the same set of port ids, with no coordination:
a port's home key comes from its UUID; ports are placed in ascending UUID order, each
taking the first free key of its linear probe sequence (home, home+1, ... wrapping).
So on a collision the lowest UUID keeps its home key. Keys 0 and 0xFFFFFF are reserved
(0 = none, 0xFFFFFF = flow-state packets).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

KEY_SPACE = 0xFFFFFE  # usable keys are 1 .. 0xFFFFFE


def home_key(port_id: str) -> int:
    """The preferred key of a port, from its UUID bits."""
    return uuid.UUID(port_id).int % KEY_SPACE + 1


def allocate(port_ids: Iterable[str]) -> dict[str, int]:
    """Assign each port a unique key in 1..0xFFFFFE (deterministic in the set of ids)."""
    taken: set[int] = set()
    keys: dict[str, int] = {}
    for pid in sorted(set(port_ids)):
        key = home_key(pid)
        while key in taken:
            key = key % KEY_SPACE + 1
        taken.add(key)
        keys[pid] = key
    return keys
