"""Backend choice: what the agent is told is available can be opened, and what it opens is the
backend it asked for; the generic netlink probe tells real families from absent ones."""

from __future__ import annotations

import os

import pytest

from datapath.api import DatapathError
from datapath.factory import genl_family_exists, kernel_available
from datapath.odp.datapath import KernelDatapath
from datapath.userspace.datapath import UserspaceDatapath
from services.agent.backend import choose, open_datapath


def test_genl_probe_tells_present_from_absent_families() -> None:
    assert genl_family_exists("nlctrl")  # the controller itself always exists
    assert not genl_family_exists("vnm_no_such_family")


def test_requested_backends_and_bad_names() -> None:
    assert choose("userspace") == "userspace"
    assert choose("kernel") == "kernel"
    assert choose("off") == "off"
    assert choose("auto") in ("kernel", "userspace")
    with pytest.raises(ValueError, match="datapath"):
        choose("dpdk")


async def test_userspace_is_opened_when_asked_for() -> None:
    dp = await open_datapath(choose("userspace"), "vnmtb0")
    try:
        assert isinstance(dp, UserspaceDatapath)
        assert dp.name == "vnmtb0"
    finally:
        await dp.close()


async def test_auto_opens_the_kernel_datapath_exactly_when_it_is_available() -> None:
    """auto's choice agrees with the kernel: kernel only where the kernel datapath can really
    be created, userspace where creating one fails for want of openvswitch."""
    chosen = choose("auto")
    if chosen == "userspace":
        # not available: the kernel refuses (no ovs_datapath family), auto fell back
        with pytest.raises(DatapathError):
            probe = await KernelDatapath.create("vnmtb1")
            await probe.close()
        dp = await open_datapath(chosen, "vnmtb1")
        try:
            assert isinstance(dp, UserspaceDatapath)
        finally:
            await dp.close()
        return
    assert kernel_available()
    if os.geteuid() != 0:
        pytest.skip("openvswitch is loaded but creating a kernel datapath needs root")
    dp = await open_datapath(chosen, "vnmtb1")
    try:
        assert isinstance(dp, KernelDatapath)
        assert dp.name == "vnmtb1"
    finally:
        await dp.close()
