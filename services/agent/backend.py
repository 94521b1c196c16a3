"""The agent's datapath backend: ``auto``, ``kernel``, ``userspace`` or ``off`` (no packet
path), resolved and opened through datapath.factory (the one availability check)."""

from __future__ import annotations

import logging

from datapath.api import Datapath
from datapath.factory import BACKENDS as DATAPATH_BACKENDS
from datapath.factory import create_datapath, resolve_backend

log = logging.getLogger("services.agent")

BACKENDS = (*DATAPATH_BACKENDS, "off")


def choose(requested: str) -> str:
    """The backend to use for `requested` (auto: kernel where available), logged."""
    if requested not in BACKENDS:
        raise ValueError(f"datapath: expected one of {', '.join(BACKENDS)}, got {requested!r}")
    if requested == "off":
        log.info("datapath off (requested): no packet path")
        return requested
    chosen = resolve_backend(requested)
    if requested != "auto":
        log.info("datapath backend %s (requested)", chosen)
    else:
        log.info(
            "datapath backend %s (auto: openvswitch module %s)",
            chosen,
            "present" if chosen == "kernel" else "absent",
        )
    return chosen


async def open_datapath(backend: str, name: str) -> Datapath:
    """Create the datapath `name` on `backend` (a stale kernel datapath is replaced)."""
    return await create_datapath(name, backend=backend, replace=True)
