"""Fixtures: a lab of namespaced hosts running real meshd agents (root needed)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.demo.netlab import Lab, cleanup_prefix


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Lab]:
    if os.geteuid() != 0:
        pytest.skip("needs root for network namespaces (missing: root)")
    prefix = f"vnmt{uuid.uuid4().hex[:4]}"
    cleanup_prefix(prefix)
    lab = Lab(prefix, tmp_path, subnet=int(prefix[-2:], 16) % 200 + 1)
    try:
        lab.create_underlay()
        yield lab
    finally:
        logs = {h.name: lab.log_tail(h, 30) for h in lab.hosts.values()}
        lab.close()
        for name, tail in logs.items():
            print(f"--- meshd {name} log tail ---\n{tail}")
