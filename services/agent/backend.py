"""Choosing and opening the datapath backend: kernel (openvswitch.ko) or userspace."""

from __future__ import annotations

import logging
from pathlib import Path

from datapath.api import Datapath

log = logging.getLogger("services.agent")

BACKENDS = ("auto", "kernel", "userspace")


def kernel_available() -> bool:
    """openvswitch is loaded (/sys/module) or its generic netlink family resolves."""
    if Path("/sys/module/openvswitch").exists():
        return True
    try:
        from pyroute2.netlink.generic import GenericNetlinkSocket

        sock = GenericNetlinkSocket()
        try:
            sock.bind("ovs_datapath", None)
            return True
        finally:
            sock.close()
    except Exception:
        return False


def choose(requested: str) -> str:
    """The backend to use for `requested` (auto: kernel where available), logged."""
    if requested not in BACKENDS:
        raise ValueError(f"datapath: expected one of {', '.join(BACKENDS)}, got {requested!r}")
    if requested != "auto":
        log.info("datapath backend %s (requested)", requested)
        return requested
    chosen = "kernel" if kernel_available() else "userspace"
    log.info(
        "datapath backend %s (auto: openvswitch module %s)",
        chosen,
        "present" if chosen == "kernel" else "absent",
    )
    return chosen


async def open_datapath(backend: str, name: str) -> Datapath:
    """Create the datapath `name` on `backend` (a stale kernel datapath is replaced)."""
    if backend == "kernel":
        from datapath.odp.datapath import KernelDatapath

        try:
            return await KernelDatapath.create(name)
        except Exception as exc:
            log.warning("datapath %s exists or failed (%s); replacing it", name, exc)
            old = await KernelDatapath.open(name)
            old.owned = True  # close() destroys it
            await old.close()
            return await KernelDatapath.create(name)
    from datapath.userspace.datapath import UserspaceDatapath

    return UserspaceDatapath(name)
