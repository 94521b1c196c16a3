"""Backend choice: the generic netlink family probe and the requested/auto/off logic."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.agent.backend import choose, genl_family_exists, kernel_available


def test_genl_probe_tells_present_from_absent_families() -> None:
    assert genl_family_exists("nlctrl")  # the controller itself always exists
    assert not genl_family_exists("vnm_no_such_family")


def test_choose() -> None:
    assert choose("userspace") == "userspace"
    assert choose("off") == "off"
    expected = "kernel" if kernel_available() else "userspace"
    assert choose("auto") == expected
    assert kernel_available() == (
        Path("/sys/module/openvswitch").exists() or genl_family_exists("ovs_datapath")
    )
    with pytest.raises(ValueError, match="datapath"):
        choose("dpdk")
