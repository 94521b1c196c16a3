"""A real meshd with the network extension (one per module) and meshctl run in-process."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from mesh.cli.main import main
from tests.mesh_proc.harness import Meshd, stop_all

EXT = {"MESHD_EXTENSIONS": "services.extension:NetworkExtension"}


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        assert self.code == 0, self.err
        return json.loads(self.out)


@dataclass(frozen=True)
class Ctl:
    """meshctl against one meshd: `ctl("bridges", "list")`."""

    node: Meshd

    @property
    def api(self) -> str:
        return f"127.0.0.1:{self.node.api_port}"

    def __call__(self, *argv: str, stdin: str = "") -> Run:
        out, err = io.StringIO(), io.StringIO()
        code = main(["--api", self.api, *argv], stdout=out, stderr=err, stdin=io.StringIO(stdin))
        run = Run(code, out.getvalue(), err.getvalue())
        assert "Traceback" not in run.err and "internal error" not in run.err, run.err
        return run

    def ok(self, *argv: str, stdin: str = "") -> str:
        run = self(*argv, stdin=stdin)
        assert (run.code, run.err) == (0, ""), run
        return run.out

    def create(self, kind: str, *argv: str) -> dict[str, Any]:
        obj: dict[str, Any] = self(kind, "create", "--json", *argv).json()
        return obj


@pytest.fixture(scope="module")
def meshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Meshd]:
    node = Meshd("ctl", Path(tmp_path_factory.mktemp("meshctl")), env=EXT)
    node.start()
    try:
        node.wait_ready()
        yield node
    finally:
        stop_all([node])


@pytest.fixture
def ctl(meshd: Meshd) -> Ctl:
    return Ctl(meshd)
