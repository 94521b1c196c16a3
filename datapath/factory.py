"""Pick a backend: the kernel datapath where openvswitch.ko is loaded, else the userspace one."""

from __future__ import annotations

from pathlib import Path

from datapath.api import Datapath, DatapathError

BACKENDS = ("auto", "kernel", "userspace")


def kernel_available() -> bool:
    """True if the openvswitch module is loaded (its generic netlink families exist)."""
    return Path("/sys/module/openvswitch").exists()


async def create_datapath(name: str, netns: str | None = None, backend: str = "auto") -> Datapath:
    """A new datapath ``name`` in ``netns``; ``backend`` is 'auto', 'kernel' or 'userspace'."""
    if backend not in BACKENDS:
        raise DatapathError(f"unknown datapath backend {backend!r} (one of {BACKENDS})")
    if backend == "kernel" or (backend == "auto" and kernel_available()):
        from datapath.odp import KernelDatapath

        return await KernelDatapath.create(name, netns=netns)
    from datapath.userspace import UserspaceDatapath

    return UserspaceDatapath(name, netns=netns)
