"""meshctl's network commands when something is wrong: the server's message and the field
to blame on one line with exit 1 (400, 404, 409), bad arguments exit 2, never a traceback."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.mesh_proc.harness import Meshd
from tests.services_cli.conftest import Ctl, Run


def _fails(run: Run, code: int, *parts: str) -> None:
    assert run.code == code, run
    assert run.out == ""
    lines = run.err.splitlines()
    assert lines[-1].startswith("meshctl: error: "), run.err
    for part in parts:
        assert part in lines[-1], run.err


@pytest.fixture
def topo(ctl: Ctl) -> dict[str, Any]:
    t = f"--tenant-id=err-{uuid.uuid4().hex[:6]}"
    br = ctl.create("bridge", t)
    rt = ctl.create("router", t)
    p1 = ctl.create("port", t, f"--device-id={br['id']}")
    p2 = ctl.create("port", t, f"--device-id={rt['id']}", "--address=10.9.0.1/24")
    return {"br": br, "rt": rt, "p1": p1, "p2": p2}


def test_not_found(ctl: Ctl, topo: dict[str, Any]) -> None:
    missing = str(uuid.uuid4())
    _fails(ctl("bridge", "show", missing), 1, f"no bridge {missing} (HTTP 404)")
    _fails(ctl("rules", "update", missing, "--name=x"), 1, "(HTTP 404)")
    _fails(ctl("chain", "delete", missing), 1, f"no chain {missing} (HTTP 404)")
    assert ctl("chain", "delete", missing, "-f").code == 0
    _fails(
        ctl("port", "create", "--tenant-id=x", f"--device-id={missing}"),
        1,
        f"device_id: no bridge or router {missing} (HTTP 404)",
    )
    _fails(ctl("port", "link", topo["p1"]["id"], missing), 1, "peer_id: no port", "(HTTP 404)")
    _fails(ctl("trace", "--ingress-port", missing, "--eth-dst=02:00:00:00:00:01"), 1, "HTTP 404")


def test_conflicts(ctl: Ctl, topo: dict[str, Any]) -> None:
    _fails(ctl("bridge", "delete", topo["br"]["id"]), 1, "still referenced by port", "(HTTP 409)")
    ctl.ok("port", "link", topo["p2"]["id"], topo["p1"]["id"])
    _fails(ctl("port", "link", topo["p1"]["id"], topo["p2"]["id"]), 1, "already linked", "409")
    _fails(ctl("port", "delete", topo["p1"]["id"]), 1, "(HTTP 409)")
    ctl.ok("port", "unlink", topo["p1"]["id"])
    _fails(ctl("port", "unlink", topo["p2"]["id"]), 1, "peer_id: port is not linked (HTTP 409)")


def test_bad_requests_name_the_field(ctl: Ctl, topo: dict[str, Any]) -> None:
    br = topo["br"]["id"]
    _fails(
        ctl("bridge", "create", "--name=x"), 1, "tenant_id: required field is missing (HTTP 400)"
    )
    _fails(
        ctl("port", "create", "--tenant-id=other", f"--device-id={br}"),
        1,
        "tenant_id: must equal the device's tenant (HTTP 400)",
    )
    _fails(
        ctl("port", "update", topo["p1"]["id"], "--mac=zz:00:00:00:00:01"),
        1,
        "mac: malformed MAC address 'zz:00:00:00:00:01' (HTTP 400)",
    )
    _fails(ctl("bridge", "create", "--tenant-id=x", "--set", "bogus=1"), 1, "bogus: unknown field")
    _fails(ctl("route", "create", "--tenant-id=x", "--dst=10.0.0.0/8"), 1, "(HTTP 400)")
    _fails(ctl("bridge", "update", br, "--set", "id=x"), 1, "id: set by the server (HTTP 400)")
    _fails(
        ctl("trace", "--ingress-port", topo["p1"]["id"], "--ip-dst=10.0.0.1"),
        1,
        "packet.eth_dst: required field is missing (HTTP 400)",
    )
    _fails(
        ctl(
            "trace",
            "--ingress-port",
            topo["p1"]["id"],
            "--eth-dst=02:00:00:00:00:01",
            "--ip-dst=1.2",
        ),
        1,
        "packet.ip_dst: malformed IPv4 address '1.2' (HTTP 400)",
    )
    _fails(
        ctl(
            "trace", "--ingress-port", topo["p1"]["id"], '{"eth_dst": "02:00:00:00:00:01", "x": 1}'
        ),
        1,
        "packet.x: unknown field (HTTP 400)",
    )


@pytest.mark.parametrize(
    "argv",
    [
        ["bridges"],
        ["bridges", "frobnicate"],
        ["bridge", "create", "--bogus", "1"],
        ["bridge", "create", "not json"],
        ["bridge", "create", "[1, 2]"],
        ["bridge", "update", "x"],
        ["bridge", "show"],
        ["port", "link", "only-one"],
        ["port", "unlink"],
        ["rule", "create", "--set", "novalue"],
        ["trace"],
        ["trace", "--eth-dst=02:00:00:00:00:01"],
        ["trace", "--ingress-port=p", "--dst-port=http"],
        ["trace", "--ingress-port=p", "--ttl="],
        ["trace", "--ingress-port=p", "{not json"],
        ["trace", "--ingress-port=p", "[]"],
        ["trace", "--ingress-port="],
    ],
)
def test_bad_arguments_exit_2(ctl: Ctl, argv: list[str]) -> None:
    run = ctl(*argv)
    assert run.code == 2, run
    assert run.err.splitlines()[-1].startswith("meshctl: error: "), run.err


_WORDS = st.sampled_from(
    [
        "bridges", "port", "rules", "pg", "ipg", "routes", "chain", "trace", "link", "unlink",
        "create", "update", "show", "list", "delete", "-f", "--json", "--set", "name=x", "{}",
        "--ingress-port", "--eth-dst", "02:00:00:00:00:01", "--ttl", "-1", "null", "[]", "-",
        "--tenant-id", "--device-id", "--dst-port", "[1,0]", str(uuid.UUID(int=1)), "", "é\x00",
    ]
)  # fmt: skip


@settings(max_examples=60)
@given(st.lists(_WORDS, max_size=7))
def test_any_argv_gives_0_1_or_2_and_no_traceback(meshd: Meshd, argv: list[str]) -> None:
    run = Ctl(meshd)(*argv, stdin="{}")  # Ctl asserts: no traceback, no internal error
    assert run.code in (0, 1, 2), run
    if run.code:
        assert run.err.splitlines()[-1].startswith("meshctl: error: "), run.err
