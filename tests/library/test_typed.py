"""A user program of the public API passes ``mypy --strict`` with ``disallow_any_expr``:
no Any leaks from mesh or crdt into it (and a program that does use an Any-typed internal
is caught, so the check has teeth)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PROGRAM = Path(__file__).with_name("typed_user.py")


def _mypy(tmp_path: Path, source: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "typed_user.py").write_text(source)
    (tmp_path / "mypy.ini").write_text(
        "[mypy]\n"
        "strict = True\n"
        f"mypy_path = {REPO}\n"
        "cache_dir = /dev/null\n"
        "[mypy-mesh.*,crdt.*,mesh,crdt]\n"
        "follow_imports = silent\n"
        "[mypy-typed_user]\n"
        "disallow_any_expr = True\n"
    )
    mypy = shutil.which("mypy", path=str(Path(sys.executable).parent)) or "mypy"
    return subprocess.run(
        [mypy, "--config-file", "mypy.ini", "typed_user.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_no_any_leaks_into_a_user_program(tmp_path: Path) -> None:
    result = _mypy(tmp_path, PROGRAM.read_text())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Success" in result.stdout


def test_the_check_catches_an_any(tmp_path: Path) -> None:
    leaky = PROGRAM.read_text().replace(
        "        await m.flush()\n",
        "        await m.flush()\n        print(table.core.get('apples'))\n",
    )
    result = _mypy(tmp_path, leaky)
    assert result.returncode == 1
    assert 'Expression has type "Any"' in result.stdout
