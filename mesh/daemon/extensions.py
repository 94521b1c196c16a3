"""Find and instantiate extensions: entry points of group ``vnetmesh.extensions``, plus
``MODULE:ATTR`` references (``--extension`` flag, ``[extensions] load``, or the
``MESHD_EXTENSIONS`` environment variable, comma-separated; meant for tests and development).

An entry point or reference may name a class or a zero-argument factory (called), or an
extension object (used as is).
"""

from __future__ import annotations

import importlib
import importlib.metadata
import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from mesh.extension import ENTRY_POINT_GROUP, Extension

log = logging.getLogger("mesh.daemon.extensions")

ENV_VAR = "MESHD_EXTENSIONS"


@dataclass(frozen=True, slots=True)
class Candidate:
    """Where an extension comes from, before it is imported."""

    source: str  # entry point name or MODULE:ATTR
    ref: str  # MODULE:ATTR


@dataclass(frozen=True, slots=True)
class LoadFailure:
    source: str
    error: str


def candidates(refs: Iterable[str], entry_points: bool = True) -> list[Candidate]:
    """Entry points first (unless turned off), then explicit references (deduplicated)."""
    found: list[Candidate] = []
    eps = importlib.metadata.EntryPoints(())
    if entry_points:
        try:
            eps = importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)
        except Exception as exc:
            log.error("cannot list entry points", extra={"fields": {"error": str(exc)}})
    for ep in eps:
        found.append(Candidate(source=ep.name, ref=ep.value))
    env = os.environ.get(ENV_VAR, "")
    extra = [r.strip() for r in env.split(",") if r.strip()] + list(refs)
    seen = {c.ref for c in found}
    for ref in extra:
        if ref not in seen:
            seen.add(ref)
            found.append(Candidate(source=ref, ref=ref))
    return found


def instantiate(ref: str) -> Extension:
    """Import MODULE:ATTR and turn it into an extension object (raises on any problem)."""
    module_name, _, attr_path = ref.partition(":")
    if not module_name or not attr_path:
        raise ValueError(f"bad extension reference {ref!r}: expected MODULE:ATTR")
    obj: Any = importlib.import_module(module_name)
    for part in attr_path.split("."):
        obj = getattr(obj, part)
    if isinstance(obj, type) or (callable(obj) and not hasattr(obj, "setup")):
        obj = obj()
    for attr in ("name", "tables", "setup", "start", "stop"):
        if not hasattr(obj, attr):
            raise TypeError(f"extension {ref!r} has no {attr!r}")
    if not isinstance(obj.name, str) or not obj.name:
        raise TypeError(f"extension {ref!r}: name must be a non-empty string")
    return obj  # type: ignore[no-any-return]
