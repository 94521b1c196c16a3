"""`meshchaos check`: exit 0 valid, 1 invalid, 2 unusable input; results.json and
report.html; the saved regression histories keep failing the way they did."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path

import pytest

from chaos.cli import main

HISTORIES = Path(__file__).parent / "histories"
LOST_WRITES = HISTORIES / "lost-writes-kill-after-ack.jsonl"
HEALTHY = HISTORIES / "healthy-partition-kill.jsonl"


def run_check(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    rc = main(["check", *args])
    out, err = capsys.readouterr()
    return rc, out, err


def test_lost_writes_regression_history_is_invalid(capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 10's defect: 10 writes acknowledged by h2, h2 killed ~30 ms later, all gone."""
    rc, out, _ = run_check(capsys, str(LOST_WRITES))
    assert rc == 1
    r = json.loads(out)
    assert r["valid"] is False and r["checkers"]["set"]["valid"] is False
    assert r["checkers"]["set"]["lost"] == list(range(1000, 1010))
    assert r["checkers"]["set"]["lost_count"] == 10
    assert r["checkers"]["set"]["stable_count"] == 20


def test_healthy_history_is_valid_and_report_is_written(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    rc, out, _ = run_check(capsys, str(HEALTHY), "--out", str(tmp_path))
    assert rc == 0
    r = json.loads(out)
    assert r["valid"] is True
    assert set(r["checkers"]) == {"set", "traffic", "membership", "convergence"}
    assert json.loads((tmp_path / "results.json").read_text()) == r
    page = (tmp_path / "report.html").read_text()
    assert page.count("src='data:image/png;base64,") == 3
    png = page.split("src='data:image/png;base64,", 1)[1].split("'", 1)[0]
    assert base64.b64decode(png)[:8] == b"\x89PNG\r\n\x1a\n"
    assert "partition:isolate" in page and "membership" in page


def test_run_directory_and_checker_selection(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "history.jsonl").write_bytes(LOST_WRITES.read_bytes())
    rc, out, _ = run_check(capsys, str(tmp_path), "--checker", "convergence")
    assert rc == 0 and set(json.loads(out)["checkers"]) == {"convergence"}
    rc, _, err = run_check(capsys, str(tmp_path), "--checker", "nope")
    assert rc == 2 and "unknown checker nope" in err


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (b'{"time": 0, "process": 0, "type": "invoke", "f": "add", "value": 1}\n{oops\n',
         "line 2: not JSON"),
        (b'{"time": 0, "process": 0, "type": "maybe", "f": "add"}\n', "line 1: 'type'"),
        (b"\xff\xfe\n", "not UTF-8"),
        (b"", "no workload operations"),
        (b'{"time": 0, "process": "nemesis", "type": "info", "f": "heal"}\n',
         "no workload operations"),
    ],
)
def test_unusable_input_exits_2_with_a_message(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, content: bytes, needle: str
) -> None:
    path = tmp_path / "history.jsonl"
    path.write_bytes(content)
    rc, out, err = run_check(capsys, str(path))
    assert rc == 2 and out == ""
    assert needle in err and str(path) in err


def test_missing_file_exits_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    rc, _, err = run_check(capsys, str(tmp_path / "absent.jsonl"))
    assert rc == 2 and "cannot read" in err


def test_unknown_verdict_is_not_valid(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "h.jsonl"
    path.write_text('{"time": 0, "process": 0, "type": "invoke", "f": "add", "value": 1}\n'
                    '{"time": 0.1, "process": 0, "type": "ok", "f": "add", "value": 1}\n')
    rc, out, _ = run_check(capsys, str(path))
    assert rc == 1 and json.loads(out)["valid"] == "unknown"


def test_console_entry_point_in_a_real_process() -> None:
    """The same command as an operator runs it: a separate interpreter, real exit status."""
    proc = subprocess.run(
        [sys.executable, "-m", "chaos.cli", "check", str(LOST_WRITES)],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert proc.returncode == 1, proc.stderr
    assert json.loads(proc.stdout)["checkers"]["set"]["lost_count"] == 10
