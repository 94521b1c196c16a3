"""Pick and open a backend: the kernel datapath where openvswitch.ko is there, else userspace.

The one place that decides whether the kernel datapath is available (the module is loaded or
its generic netlink family resolves, so a built-in openvswitch counts too) and the one
factory every caller (the agent, tests, benchmarks) opens a datapath through.
"""

from __future__ import annotations

import logging
import socket
import struct
from pathlib import Path

from datapath.api import Datapath, DatapathError

log = logging.getLogger("datapath")

BACKENDS = ("auto", "kernel", "userspace")

_NETLINK_GENERIC = 16
_GENL_ID_CTRL = 0x10  # the generic netlink controller's fixed family id
_CTRL_CMD_GETFAMILY = 3
_CTRL_ATTR_FAMILY_NAME = 2
_NLM_F_REQUEST = 1
_NLMSG = struct.Struct("=IHHII")  # len, type, flags, seq, pid
_GENL = struct.Struct("=BBH")  # cmd, version, reserved
_NLA = struct.Struct("=HH")  # len, type


def genl_family_exists(name: str) -> bool:
    """Ask the generic netlink controller for family ``name`` (CTRL_CMD_GETFAMILY): True if
    it answers with the family, False if it answers with an error or netlink is unusable."""
    try:
        sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, _NETLINK_GENERIC)
    except OSError:
        return False
    try:
        sock.settimeout(1.0)
        raw = name.encode() + b"\0"
        attr = _NLA.pack(_NLA.size + len(raw), _CTRL_ATTR_FAMILY_NAME) + raw
        attr += b"\0" * (-len(attr) % 4)
        genl = _GENL.pack(_CTRL_CMD_GETFAMILY, 1, 0)
        size = _NLMSG.size + len(genl) + len(attr)
        sock.send(_NLMSG.pack(size, _GENL_ID_CTRL, _NLM_F_REQUEST, 1, 0) + genl + attr)
        reply = sock.recv(65536)
        # the controller answers a known family with a message of its own type, an unknown
        # one with NLMSG_ERROR
        return len(reply) >= _NLMSG.size and _NLMSG.unpack_from(reply)[1] == _GENL_ID_CTRL
    except OSError:
        return False
    finally:
        sock.close()


def kernel_available() -> bool:
    """True if the kernel datapath can be used: the openvswitch module is loaded
    (/sys/module) or its ``ovs_datapath`` generic netlink family resolves."""
    return Path("/sys/module/openvswitch").exists() or genl_family_exists("ovs_datapath")


def resolve_backend(backend: str = "auto") -> str:
    """``kernel`` or ``userspace`` for ``backend`` (auto: kernel where available)."""
    if backend not in BACKENDS:
        raise DatapathError(f"unknown datapath backend {backend!r} (one of {BACKENDS})")
    if backend == "auto":
        return "kernel" if kernel_available() else "userspace"
    return backend


async def create_datapath(
    name: str, netns: str | None = None, backend: str = "auto", replace: bool = False
) -> Datapath:
    """A new datapath ``name`` in ``netns``; ``backend`` is 'auto', 'kernel' or 'userspace'.
    ``replace``: a kernel datapath of that name left by an earlier run is destroyed first."""
    if resolve_backend(backend) == "kernel":
        from datapath.odp import KernelDatapath

        try:
            return await KernelDatapath.create(name, netns=netns)
        except Exception as exc:
            if not replace:
                raise
            log.warning("datapath %s exists or failed (%s); replacing it", name, exc)
            old = await KernelDatapath.open(name, netns=netns)
            old.owned = True  # close() destroys it
            await old.close()
            return await KernelDatapath.create(name, netns=netns)
    from datapath.userspace import UserspaceDatapath

    return UserspaceDatapath(name, netns=netns)
