"""The HTTP API of one real meshd: kv semantics, input fuzzing (never a 5xx), token auth,
metrics."""

from __future__ import annotations

import json
import socket
import string
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.mesh_proc.harness import Meshd, http_request, stop_all

TOKEN = "s3cret-token"


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Meshd]:
    d = Meshd("api0", tmp_path_factory.mktemp("api")).start()
    try:
        d.wait_ready()
        yield d
    finally:
        stop_all([d])
        assert d.proc is not None


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Meshd]:
    d = Meshd("api1", tmp_path_factory.mktemp("apitok"), token=TOKEN).start()
    try:
        d.wait_ready()
        yield d
    finally:
        stop_all([d])


def test_kv_roundtrip(node: Meshd) -> None:
    assert node.get("absent").status == 404
    assert node.get("absent").json() == {"error": "no such key"}
    assert node.put("a", {"x": [1, 2.5, None, True]}).status == 200
    assert node.get("a").json() == {"x": [1, 2.5, None, True]}
    assert node.put("nul", None).status == 200
    resp = node.get("nul")
    assert (resp.status, resp.json()) == (200, None)
    assert node.kv()["a"] == {"x": [1, 2.5, None, True]}
    assert node.request("DELETE", "/v1/kv/a").status == 204
    assert node.request("DELETE", "/v1/kv/a").status == 404
    assert node.get("a").status == 404
    quoted = urllib.parse.quote("dir/sub key é", safe="")
    assert node.request("PUT", f"/v1/kv/{quoted}", b'"v"').status == 200
    assert node.kv()["dir/sub key é"] == "v"


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"{",
        b"NaN",
        b"Infinity",
        b"1e999",
        b"18446744073709551616",
        b"\xff\xfe",
        b'"\\ud800"',
        b"[" * 100 + b"]" * 100,
        b"x" * 70000,
    ],
)
def test_bad_bodies_400(node: Meshd, body: bytes) -> None:
    resp = node.request("PUT", "/v1/kv/k", body)
    assert resp.status == 400, resp
    assert "error" in resp.json()


def test_bad_keys_400(node: Meshd) -> None:
    for key in ["%00", "a%0Ab", "x" * 257, "%7F", "%C2%85"]:
        resp = node.request("PUT", f"/v1/kv/{key}", b"1")
        assert resp.status == 400, (key, resp)
        assert "error" in resp.json()


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    value=json_values,
    key=st.text(string.ascii_letters + string.digits + "-_.", min_size=1, max_size=40),
)
def test_put_get_roundtrip(node: Meshd, value: Any, key: str) -> None:
    assert node.put(key, value).status == 200
    resp = node.get(key)
    assert resp.status == 200
    assert resp.json() == value


header_names = st.text(string.ascii_letters + string.digits + "-", min_size=1, max_size=20).filter(
    lambda h: h.lower() not in ("content-length", "transfer-encoding", "host", "connection")
)
header_values = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=60).map(
    str.strip
)
methods = st.sampled_from(["GET", "PUT", "DELETE", "POST", "PATCH", "HEAD", "OPTIONS"])
paths = st.one_of(
    st.text(max_size=60).map(lambda k: "/v1/kv/" + urllib.parse.quote(k, safe="")),
    st.text(max_size=60).map(lambda k: "/v1/kv/" + urllib.parse.quote(k)),
    st.sampled_from(["/v1/kv", "/v1/members", "/metrics", "/healthz", "/", "/v1/kv/"]),
    st.text(string.ascii_letters + "/%.?&=", max_size=40).map(lambda p: "/" + p),
)
bodies = st.one_of(
    st.none(),
    st.binary(max_size=300),
    json_values.map(lambda v: json.dumps(v).encode()),
)


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    method=methods,
    path=paths,
    body=bodies,
    headers=st.dictionaries(header_names, header_values, max_size=5),
)
def test_fuzz_never_5xx(
    node: Meshd, method: str, path: str, body: bytes | None, headers: dict[str, str]
) -> None:
    resp = http_request(node.api_port, method, path, body, headers)
    assert resp.status < 500, (method, path, body, headers, resp)
    if resp.status >= 400 and method != "HEAD" and resp.body:
        assert "error" in json.loads(resp.body)


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=st.binary(max_size=400))
def test_raw_garbage_never_5xx(node: Meshd, raw: bytes) -> None:
    with socket.create_connection(("127.0.0.1", node.api_port), timeout=5) as sock:
        sock.sendall(raw + b"\r\n\r\n")
        sock.shutdown(socket.SHUT_WR)
        data = b""
        try:
            while chunk := sock.recv(4096):
                data += chunk
        except (TimeoutError, ConnectionResetError):
            pass
    if data.startswith(b"HTTP/1."):
        status = int(data.split(b" ", 2)[1])
        assert status < 500, data[:200]


def test_server_survived_fuzzing(node: Meshd) -> None:
    assert node.alive()
    assert http_request(node.api_port, "GET", "/healthz").status == 200
    assert node.put("after-fuzz", 1).status == 200


def test_metrics(node: Meshd) -> None:
    resp = node.request("GET", "/metrics")
    assert resp.status == 200
    assert resp.headers["content-type"].startswith("text/plain")
    text = resp.body.decode()
    assert 'mesh_members{state="alive"} 1.0' in text
    for name in (
        "mesh_bytes_out_total",
        "mesh_drops_total",
        "mesh_convergence_lag",
        "process_resident_memory_bytes",
    ):
        assert name in text, name


def test_token_auth(secured: Meshd) -> None:
    port = secured.api_port
    assert http_request(port, "GET", "/healthz").status == 200
    for method, path in [
        ("GET", "/v1/members"),
        ("GET", "/v1/kv"),
        ("GET", "/metrics"),
        ("PUT", "/v1/kv/x"),
        ("DELETE", "/v1/kv/x"),
        ("GET", "/nope"),
    ]:
        resp = http_request(port, method, path, b"1")
        assert resp.status == 401, (method, path, resp)
        assert resp.json()["error"]
        wrong = http_request(port, method, path, b"1", {"Authorization": "Bearer nope"})
        assert wrong.status == 401
        basic = http_request(port, method, path, b"1", {"Authorization": f"Basic {TOKEN}"})
        assert basic.status == 401
    assert secured.put("x", 1).status == 200
    assert secured.get("x").json() == 1
    assert secured.request("GET", "/v1/members").status == 200


def test_members_shape(node: Meshd, tmp_path: Path) -> None:
    [me] = node.request("GET", "/v1/members").json()
    assert me["id"] == "api0"
    assert me["state"] == "alive"
    assert me["gossip"] == node.gossip
    assert me["api"] == f"127.0.0.1:{node.api_port}"
    assert me["underlay"] == "127.0.0.1"
    assert isinstance(me["incarnation"], int)
