"""`meshd demo` end to end as a real process: exit 0 with the rules held, and no namespace
left behind, also when it is stopped with SIGTERM halfway."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.demo.netlab import cleanup_prefix, netns_list

MESHD = str(Path(sys.executable).with_name("meshd"))


@pytest.fixture
def prefix() -> Iterator[str]:
    if os.geteuid() != 0:
        pytest.skip("needs root for network namespaces (missing: root)")
    p = f"vnmd{uuid.uuid4().hex[:4]}"
    yield p
    cleanup_prefix(p)


def _left(prefix: str) -> list[str]:
    return [ns for ns in netns_list() if ns.startswith(prefix + "-")]


def test_demo_passes_and_cleans_up(prefix: str) -> None:
    proc = subprocess.run(
        [MESHD, "demo", "--prefix", prefix], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "OK: everything allowed passed" in proc.stdout
    assert "blocked" in proc.stdout and "set(tunnel(" in proc.stdout
    assert _left(prefix) == []


def test_demo_cleans_up_on_sigterm(prefix: str) -> None:
    proc = subprocess.Popen([MESHD, "demo", "--prefix", prefix], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    try:
        for line in proc.stdout:
            if line.startswith("== 3."):  # hosts and VMs exist now
                break
        assert _left(prefix), "the demo should have created namespaces by now"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == 130
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert _left(prefix) == []
