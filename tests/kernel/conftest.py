"""Kernel datapath tests run only where openvswitch.ko is loaded (the test VM)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REASON = "needs openvswitch kernel module: run make test-kernel"


def have_openvswitch() -> bool:
    return Path("/sys/module/openvswitch").exists() and os.geteuid() == 0


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if have_openvswitch():
        return
    skip = pytest.mark.skip(reason=REASON)
    here = Path(__file__).parent
    for item in items:
        if Path(str(item.fspath)).is_relative_to(here):
            item.add_marker(skip)
