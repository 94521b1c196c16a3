"""The three-replica demo (make demo) converges for several shuffles."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "three_replicas.py"


@pytest.mark.parametrize("seed", [0, 1, 7, 42])
def test_three_replicas_demo_converges(seed: int, capsys: pytest.CaptureFixture[str]) -> None:
    spec = importlib.util.spec_from_file_location("three_replicas", EXAMPLE)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    assert mod.main(seed) == 0
    out = capsys.readouterr().out
    assert "converged" in out and "DIVERGED" not in out
    # beta wins the mtu tie (same clock reading, greater id); the update of owner-alpha
    # survives gamma's concurrent remove; gamma's write after seeing beta's wins despite
    # gamma's slow clock.
    assert out.count("'mtu': 9000") == 3
    assert out.count("'owner-alpha': 'A'") == 3 and out.count("'owner-beta': 'G'") == 3
