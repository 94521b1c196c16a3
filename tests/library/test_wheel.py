"""``python -m build`` makes a wheel and an sdist; the wheel, installed into a fresh venv
with no repository on the path, imports crdt and mesh (with py.typed and __version__) and
runs an example.

Offline on purpose: the build uses the test venv's setuptools (``--no-isolation``), the
wheel goes in with ``--no-deps``, and the fresh venv reaches its dependencies (msgpack,
aiohttp, ...) through a ``.pth`` line naming the test venv's site-packages, a plain path,
so the editable install's finder there is not run."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def _run(cmd: list[str], cwd: Path, timeout: float = 600) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    out = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert out.returncode == 0, f"{cmd}: {out.stdout}\n{out.stderr}"
    return out.stdout


def test_wheel_installs_and_runs_without_the_repo(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    _run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(dist), str(REPO)], REPO)
    wheels = list(dist.glob("vnetmesh-*.whl"))
    assert len(wheels) == 1 and list(dist.glob("vnetmesh-*.tar.gz"))
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], tmp_path)
    py = venv / "bin" / "python"
    purelib = Path(
        _run(
            [str(py), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], tmp_path
        ).strip()
    )
    deps = sysconfig.get_path("purelib")
    (purelib / "_vnetmesh_test_deps.pth").write_text(deps + "\n")
    _run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "--no-index",
            "--target",
            str(purelib),
            str(wheels[0]),
        ],
        tmp_path,
    )
    probe = (
        "import crdt, mesh, pathlib\n"
        "from mesh import Mesh, __version__\n"
        "import importlib.metadata as md\n"
        "assert __version__ == md.version('vnetmesh'), (__version__, md.version('vnetmesh'))\n"
        "assert crdt.__version__ == __version__\n"
        "for mod in (crdt, mesh):\n"
        "    root = pathlib.Path(mod.__file__).parent\n"
        "    assert (root / 'py.typed').exists(), root\n"
        "    print(root)\n"
        "assert set(mesh.__all__) >= {'Mesh', 'ConfigError', 'BindError', 'AuthError'}\n"
    )
    where = _run([str(py), "-c", probe], tmp_path).split()
    assert all(str(purelib) in w for w in where), where
    assert not any(str(REPO) in w for w in where), where
    example = tmp_path / "inventory.py"
    example.write_text((REPO / "examples" / "inventory.py").read_text())
    out = _run([str(py), str(example), "solo", "--until", "1"], tmp_path, timeout=60)
    assert "[solo] sees 1 members' items" in out
