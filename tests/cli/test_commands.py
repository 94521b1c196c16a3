"""meshctl commands against a real HTTP server: table and JSON output, errors, exit codes."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.conftest import TOKEN, run
from tests.cli.fakeapi import FakeApi


def test_members_table(api: FakeApi) -> None:
    r = run("members")
    assert r.code == 0, r.err
    lines = r.out.splitlines()
    assert lines[0].split() == ["ID", "STATE", "GOSSIP", "UNDERLAY", "API", "INCARNATION"]
    assert lines[1].split() == [
        "host-a",
        "alive",
        "10.0.0.1:7947",
        "10.0.0.1",
        "127.0.0.1:7946",
        "1",
    ]
    assert lines[2].split() == ["host-b", "suspect", "10.0.0.2:7947", "10.0.0.2", "-", "3"]
    # columns are aligned: every row has STATE at the same offset
    assert {
        line.index(s) for line, s in zip(lines, ["STATE", "alive", "suspect"], strict=True)
    } == {lines[0].index("STATE")}


def test_members_json_and_filter(api: FakeApi) -> None:
    r = run("members", "--json")
    assert r.code == 0
    assert [m["id"] for m in json.loads(r.out)] == ["host-a", "host-b"]
    r = run("--json", "members", "--state", "suspect")
    assert [m["id"] for m in json.loads(r.out)] == ["host-b"]


def test_kv_roundtrip(api: FakeApi) -> None:
    assert run("kv", "put", "color", "blue").code == 0
    assert run("kv", "put", "n", "42").code == 0
    assert run("kv", "put", "obj", '{"a": [1, 2]}').code == 0
    assert run("kv", "put", "s", "42", "--string").code == 0
    assert api.state.kv == {"color": "blue", "n": 42, "obj": {"a": [1, 2]}, "s": "42"}
    assert run("kv", "get", "color").out == "blue\n"
    assert json.loads(run("kv", "get", "obj").out) == {"a": [1, 2]}
    assert json.loads(run("kv", "get", "s", "--json").out) == "42"
    r = run("kv", "ls")
    assert r.out.splitlines() == [
        "KEY    VALUE",
        "color  blue",
        "n      42",
        'obj    {"a":[1,2]}',
        "s      42",
    ]
    assert json.loads(run("kv", "ls", "--json", "o").out) == {"obj": {"a": [1, 2]}}
    assert run("kv", "del", "color").code == 0
    assert "color" not in api.state.kv


def test_kv_keys_with_slashes_and_odd_characters(api: FakeApi) -> None:
    key = "tenant/a b/ü?#%"
    assert run("kv", "put", key, "1").code == 0
    assert api.state.kv == {key: 1}
    assert run("kv", "get", key).out == "1\n"
    assert run("kv", "rm", key).code == 0


def test_kv_put_from_stdin_and_json_echo(api: FakeApi) -> None:
    r = run("kv", "put", "cfg", "-", "--json", stdin='{"mtu": 1400}\n')
    assert r.code == 0
    assert json.loads(r.out) == {"key": "cfg", "value": {"mtu": 1400}}


def test_kv_missing_key(api: FakeApi) -> None:
    r = run("kv", "get", "nope")
    assert r.code == 1 and r.out == ""
    assert r.err == "meshctl: error: no such key: nope (HTTP 404)\n"
    assert run("kv", "del", "nope").code == 1
    assert run("kv", "del", "nope", "--force").code == 0


def test_server_message_is_shown(api: FakeApi) -> None:
    r = run("kv", "put", "k" * 300, "1")
    assert r.code == 1
    assert "key longer than 256 bytes (HTTP 400)" in r.err
    assert "Traceback" not in r.err


def test_health(api: FakeApi) -> None:
    r = run("health")
    assert r.code == 0
    assert r.out.splitlines()[0].split() == ["status:", "ok"]
    assert "alive_members: 1" in r.out
    assert json.loads(run("health", "--json").out)["status"] == "ok"


def test_metrics(api: FakeApi) -> None:
    r = run("metrics", "mesh_members")
    assert r.out == 'mesh_members{state="alive"} 2.0\n'
    samples = json.loads(run("metrics", "--json").out)
    assert samples['mesh_messages_total{kind="ping"}'] == 12.0
    assert len(samples) == 3


def test_token(locked: FakeApi, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MESHCTL_API", locked.address)
    r = run("members")
    assert r.code == 1 and "missing or bad bearer token (HTTP 401)" in r.err
    tf = tmp_path / "token"
    tf.write_text(TOKEN + "\n")
    r = run("members", "--token-file", str(tf))
    assert r.code == 0, r.err
    assert locked.state.requests[-1][2] == f"Bearer {TOKEN}"
    monkeypatch.setenv("MESHCTL_TOKEN_FILE", str(tf))
    assert run("kv", "ls").code == 0


def test_bad_token_file(api: FakeApi, tmp_path: Path) -> None:
    r = run("members", "--token-file", str(tmp_path / "absent"))
    assert r.code == 2 and "cannot read token file" in r.err
    empty = tmp_path / "empty"
    empty.write_text("\n")
    assert run("members", "--token-file", str(empty)).code == 2


def test_connection_refused() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again below: nothing listens there
    r = run("--api", f"127.0.0.1:{port}", "members")
    assert r.code == 1
    assert r.err == (
        f"meshctl: error: cannot reach meshd at http://127.0.0.1:{port}: "
        "connection refused (is meshd running? see --api)\n"
    )


def test_timeout() -> None:
    with socket.socket() as s:  # accepts (backlog) but never answers
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        r = run("--api", f"127.0.0.1:{s.getsockname()[1]}", "--timeout", "0.3", "health")
    assert r.code == 1 and "did not answer within 0.3s" in r.err


@pytest.mark.parametrize(
    "argv, fragment",
    [
        ([], "required"),
        (["kv"], "required"),
        (["nonsense"], "invalid choice"),
        (["kv", "get"], "required: key"),
        (["members", "--state", "zombie"], "invalid choice"),
        (["--api", "host:notaport", "members"], "port must be a number"),
        (["--api", "ftp://x", "members"], "bad --api"),
        (["--api", "\x1b", "members"], "bad --api"),  # found by the fuzz test
        (["--timeout", "-1", "health"], "must be positive"),
        (["members", "--bogus"], "unrecognized arguments"),
        (["kv", "get", ""], "empty key"),
    ],
)
def test_usage_errors(api: FakeApi, argv: list[str], fragment: str) -> None:
    r = run(*argv)
    assert r.code == 2, r
    assert fragment in r.err and "Traceback" not in r.err
    assert r.err.rstrip().splitlines()[-1].startswith("meshctl: error:")


def test_help_exits_zero(api: FakeApi) -> None:
    r = run("--help")
    assert r.code == 0 and "members" in r.out and "kv" in r.out
    assert run("kv", "put", "--help").code == 0


def test_server_errors(api: FakeApi) -> None:
    from mesh.cli.errors import ApiError
    from mesh.cli.http import ApiClient, base_url

    client = ApiClient(base_url(api.address))
    with pytest.raises(ApiError, match=r"Internal Server Error \(HTTP 500\)"):
        client.get("/v1/crashy")
    with pytest.raises(ApiError, match="not JSON"):
        client.get("/v1/weird").json()


def test_api_address_forms() -> None:
    from mesh.cli.http import base_url

    assert base_url("10.1.2.3:80") == "http://10.1.2.3:80"
    assert base_url("[::1]:7946") == "http://[::1]:7946"
    assert base_url("meshd.local") == "http://meshd.local:7947"
    assert base_url("https://meshd:8443/") == "https://meshd:8443"


def test_console_script_subprocess(api: FakeApi) -> None:
    """The installed entry point, as people run it."""
    exe = Path(sys.executable).with_name("meshctl")
    env = {**os.environ, "MESHCTL_API": api.address}
    p = subprocess.run(
        [str(exe), "kv", "put", "x", "[1,2]"], env=env, capture_output=True, text=True, timeout=60
    )
    assert p.returncode == 0, p.stderr
    p = subprocess.run(
        [str(exe), "--json", "kv", "ls"], env=env, capture_output=True, text=True, timeout=60
    )
    assert json.loads(p.stdout) == {"x": [1, 2]}
    p = subprocess.run([str(exe), "kv", "get"], env=env, capture_output=True, text=True, timeout=60)
    assert p.returncode == 2 and "Traceback" not in p.stderr
