"""Choosing and opening the datapath backend: kernel (openvswitch.ko) or userspace."""

from __future__ import annotations

import logging
import socket
import struct
from pathlib import Path

from datapath.api import Datapath

log = logging.getLogger("services.agent")

BACKENDS = ("auto", "kernel", "userspace", "off")


def kernel_available() -> bool:
    """openvswitch is loaded (/sys/module) or its generic netlink family resolves."""
    return Path("/sys/module/openvswitch").exists() or genl_family_exists("ovs_datapath")


def genl_family_exists(name: str) -> bool:
    """Ask the generic netlink controller for family `name` (CTRL_CMD_GETFAMILY)."""
    try:
        sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, _NETLINK_GENERIC)
    except OSError:
        return False
    try:
        sock.settimeout(1.0)
        raw = name.encode() + b"\0"
        attr = struct.pack("=HH", 4 + len(raw), _CTRL_ATTR_FAMILY_NAME) + raw
        attr += b"\0" * (-len(attr) % 4)
        genl = struct.pack("=BBH", _CTRL_CMD_GETFAMILY, 1, 0)
        header = struct.pack("=IHHII", 16 + len(genl) + len(attr), _GENL_ID_CTRL, 1, 1, 0)
        sock.send(header + genl + attr)
        reply = sock.recv(65536)
        return len(reply) >= 16 and struct.unpack_from("=IHHII", reply)[1] == _GENL_ID_CTRL
    except OSError:
        return False
    finally:
        sock.close()


_NETLINK_GENERIC = 16
_GENL_ID_CTRL = 0x10
_CTRL_CMD_GETFAMILY = 3
_CTRL_ATTR_FAMILY_NAME = 2


def choose(requested: str) -> str:
    """The backend to use for `requested` (auto: kernel where available), logged."""
    if requested not in BACKENDS:
        raise ValueError(f"datapath: expected one of {', '.join(BACKENDS)}, got {requested!r}")
    if requested == "off":
        log.info("datapath off (requested): no packet path")
        return requested
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
