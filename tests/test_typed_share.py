"""scripts/typed_share.py: the any-exprs report is parsed and summed per package, and the
exit code follows the goals (on a report written here, so no mypy run)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "typed_share.py"

REPORT = """\
                            Name   Anys   Exprs   Coverage
----------------------------------------------------------
                            crdt      0       1    100.00%
                     crdt.stores     10     500     98.00%
                     crdt.values      0     499    100.00%
                  datapath.odp.x     50     100     50.00%
                      datapath.y      0     900    100.00%
----------------------------------------------------------
                           Total     60    2000     97.00%
"""


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("typed_share", SCRIPT)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules["typed_share"] = mod
    spec.loader.exec_module(mod)
    return mod


ts = _load()


def test_rows_skip_header_separators_and_total() -> None:
    rows = ts.parse_report(REPORT)
    assert [r.module for r in rows] == [
        "crdt",
        "crdt.stores",
        "crdt.values",
        "datapath.odp.x",
        "datapath.y",
    ]


def test_package_share_sums_its_modules() -> None:
    crdt, datapath = ts.by_package(ts.parse_report(REPORT), ["crdt", "datapath"])
    assert (crdt.anys, crdt.exprs) == (10, 1000)
    assert crdt.share == pytest.approx(99.0)
    assert datapath.share == pytest.approx(95.0)
    assert [m.module for m in datapath.worst(5)] == ["datapath.odp.x"]


def test_goal_spec() -> None:
    assert ts.parse_goals("all") == ts.GOALS
    assert ts.parse_goals("crdt, datapath=96.5") == {"crdt": ts.GOALS["crdt"], "datapath": 96.5}
    with pytest.raises(SystemExit):
        ts.parse_goals("nosuchpackage")


def test_exit_code_follows_goals(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "any-exprs.txt").write_text(REPORT)
    # crdt 99.0% passes 98; datapath 95.0% passes 95 but not 96
    assert ts.main(["--report", str(tmp_path), "--goals", "crdt,datapath=95"]) == 0
    assert ts.main(["--report", str(tmp_path), "--goals", "datapath=96"]) == 1
    assert "datapath 95.00% < 96.0%" in capsys.readouterr().err


def test_empty_report_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "any-exprs.txt").write_text("nothing here\n")
    assert ts.main(["--report", str(tmp_path)]) == 2


def test_enforced_package_missing_from_report_fails(tmp_path: Path) -> None:
    (tmp_path / "any-exprs.txt").write_text(REPORT)
    assert ts.main(["--report", str(tmp_path), "--goals", "mesh"]) == 1
