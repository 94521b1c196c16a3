"""`meshchaos check`: exit 0 valid, 1 invalid, 2 unusable input; results.json and
report.html; the saved regression histories keep failing the way they did."""

from __future__ import annotations

import base64
import gzip
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

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


RECORDED = HISTORIES / "recorded-3hosts-partition-kill-pause.jsonl.gz"


def test_recorded_run_is_valid(capsys: pytest.CaptureFixture[str]) -> None:
    """A real `meshchaos run` (3 hosts; random and ring partitions, a kill, a pause)."""
    rc, out, _ = run_check(capsys, str(RECORDED))
    assert rc == 0
    c = json.loads(out)["checkers"]
    assert set(c) == {"set", "topology", "traffic", "membership", "convergence"}
    assert c["set"]["attempt_count"] == 972 and c["set"]["lost_count"] == 0
    assert c["topology"]["digests_agree"] is True and c["topology"]["objects_expected"] == 73
    assert c["traffic"]["cross_tenant_packets"] == 0
    assert c["convergence"]["measured_from"] == pytest.approx(28.7418)


def _mutated(tmp_path: Path, change: Callable[[dict[str, Any]], None]) -> Path:
    """The recorded run with `change` applied to each op after the final heal."""
    lines = gzip.decompress(RECORDED.read_bytes()).decode().splitlines()
    heal = next(json.loads(x)["time"] for x in lines if '"f":"heal"' in x)
    out = []
    for x in lines:
        op = json.loads(x)
        if op["time"] > heal:
            change(op)
        out.append(json.dumps(op))
    path = tmp_path / "history.jsonl"
    path.write_text("\n".join(out) + "\n")
    return path


def test_recorded_run_with_an_acknowledged_write_dropped_is_invalid(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    lines = gzip.decompress(RECORDED.read_bytes()).decode().splitlines()
    victim = next(json.loads(x)["value"] for x in lines if '"type":"ok","f":"add"' in x)

    def drop(op: dict[str, Any]) -> None:
        if op["f"] == "read" and op["type"] == "ok" and op.get("node") == "h3":
            op["value"] = [e for e in op["value"] if str(e) != str(victim)]

    rc, out, _ = run_check(capsys, str(_mutated(tmp_path, drop)))
    assert rc == 1
    s = json.loads(out)["checkers"]["set"]
    assert s["lost"] == [victim] and s["lost_acknowledged_count"] == 1


def test_recorded_run_with_one_agent_diverging_is_invalid(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    def diverge(op: dict[str, Any]) -> None:
        if op["f"] == "digest" and op["type"] == "ok" and op["value"].get("agent") == "h2":
            objs = op["value"]["objects"]
            kind = next(k for k, v in objs.items() if v)
            objs[kind].pop(next(iter(objs[kind])))

    rc, out, _ = run_check(capsys, str(_mutated(tmp_path, diverge)))
    assert rc == 1
    t = json.loads(out)["checkers"]["topology"]
    assert t["digests_agree"] is False and t["missing_count"] >= 1


def test_bad_gzip_history_exits_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    truncated = tmp_path / "t.jsonl.gz"
    truncated.write_bytes(gzip.compress(LOST_WRITES.read_bytes())[:40])
    rc, _, err = run_check(capsys, str(truncated))
    assert rc == 2 and "truncated gzip stream" in err
    not_gzip = tmp_path / "n.jsonl.gz"
    not_gzip.write_bytes(b"plain text\n")
    rc, _, err = run_check(capsys, str(not_gzip))
    assert rc == 2 and "cannot read" in err
