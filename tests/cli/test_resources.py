"""The generic resource commands, declared once for a test kind ("widgets")."""

from __future__ import annotations

import json

import pytest

from mesh.cli.commands import resources
from mesh.cli.errors import UsageError
from mesh.cli.resource import ResourceSpec, parse_fields
from tests.cli.conftest import run
from tests.cli.fakeapi import FakeApi

WIDGETS = ResourceSpec(
    "widgets", (("ID", "id"), ("NAME", "name"), ("SIZE", "size")), aliases=("widget",)
)


@pytest.fixture(autouse=True)
def widgets_kind(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(resources, "RESOURCES", [WIDGETS])


def test_crud(api: FakeApi) -> None:
    r = run("widgets", "create", "--set", "name=gear", "--set", "size=3")
    assert r.code == 0, r.err
    assert r.out.splitlines()[:2] == ["id:   w1", "name: gear"]
    assert run("widget", "create", '{"name": "cog", "tags": ["x"]}').code == 0
    r = run("widgets", "list")
    assert r.out.splitlines() == ["ID  NAME  SIZE", "w1  gear  3", "w2  cog   -"]
    r = run("widgets", "update", "w2", "--set", "size=7", "--set", "dims.h=2", "--json")
    assert json.loads(r.out) == {
        "id": "w2",
        "name": "cog",
        "tags": ["x"],
        "size": 7,
        "dims": {"h": 2},
    }
    assert json.loads(run("widgets", "show", "w2", "--json").out)["size"] == 7
    assert run("widgets", "delete", "w1").code == 0
    assert [w["id"] for w in json.loads(run("widgets", "ls", "--json").out)] == ["w2"]
    assert api.state.requests[-2][:2] == ("DELETE", "/v1/widgets/w1")


def test_errors(api: FakeApi) -> None:
    r = run("widgets", "show", "w9")
    assert (r.code, r.err) == (1, "meshctl: error: no such widget (HTTP 404)\n")
    assert run("widgets", "delete", "w9").code == 1
    assert run("widgets", "rm", "w9", "-f").code == 0
    r = run("widgets", "create", "--set", "size=1")
    assert r.code == 1 and "a widget needs a name" in r.err
    assert run("widgets", "update", "w1").code == 2  # nothing to update
    assert run("widgets", "create", "[1]").code == 2
    assert run("widgets", "create", "--set", "novalue").code == 2
    assert run("widgets").code == 2


def test_parse_fields() -> None:
    assert parse_fields(None, ["a.b.c=1", "a.d=x", "e=null"], str) == {
        "a": {"b": {"c": 1}, "d": "x"},
        "e": None,
    }
    assert parse_fields("-", ["y=2"], lambda: '{"x": 1}') == {"x": 1, "y": 2}
    for bad in (["=1"], ["a..b=1"], ["a=1", "a.b=2"]):
        with pytest.raises(UsageError):
            parse_fields(None, bad, str)


def test_extension_entry_point_adds_a_kind(api: FakeApi, monkeypatch: pytest.MonkeyPatch) -> None:
    """Packages outside mesh/ (services) add commands through the vnetmesh.meshctl group."""
    from mesh.cli import main as cli_main
    from mesh.cli.resource import register_resource

    class EP:
        def __init__(self, name: str, fn: object) -> None:
            self.name, self._fn = name, fn

        def load(self) -> object:
            return self._fn

    def broken(_sub: object) -> None:
        raise RuntimeError("boom")

    gadgets = ResourceSpec("gadgets")
    eps = [EP("gadgets", lambda sub: register_resource(sub, gadgets)), EP("broken", broken)]
    monkeypatch.setattr(cli_main, "entry_points", lambda group: eps)
    r = run("gadgets", "show", "g1")
    assert r.code == 1 and "(HTTP 404)" in r.err  # the fake server has no /v1/gadgets
    assert api.state.requests[-1][:2] == ("GET", "/v1/gadgets/g1")
