"""Fixtures: a real aiohttp server with meshd's routes (one open, one with a token), and a
helper that runs meshctl's main() in-process with captured output."""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from mesh.cli.main import main
from tests.cli.fakeapi import FakeApi

TOKEN = "s3cret-token"


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str


def run(*argv: str, stdin: str = "") -> Run:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=out, stderr=err, stdin=io.StringIO(stdin))
    return Run(code, out.getvalue(), err.getvalue())


@pytest.fixture(scope="session")
def servers() -> Iterator[tuple[FakeApi, FakeApi]]:
    open_api, locked_api = FakeApi().start(), FakeApi(token=TOKEN).start()
    yield open_api, locked_api
    open_api.stop()
    locked_api.stop()


@pytest.fixture
def api(servers: tuple[FakeApi, FakeApi], monkeypatch: pytest.MonkeyPatch) -> FakeApi:
    """The open server, reset, and named by MESHCTL_API."""
    servers[0].state.reset()
    monkeypatch.setenv("MESHCTL_API", servers[0].address)
    monkeypatch.delenv("MESHCTL_TOKEN_FILE", raising=False)
    return servers[0]


@pytest.fixture
def locked(servers: tuple[FakeApi, FakeApi]) -> FakeApi:
    servers[1].state.reset()
    return servers[1]
