"""Extensions loaded into a real meshd: tables, routes, config section, failure isolation."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.mesh_proc.harness import Meshd, stop_all, wait_until

GOOD = "tests.mesh_proc.sample_ext:CounterExtension"
BROKEN = "tests.mesh_proc.sample_ext:BrokenExtension"


def test_extension_tables_routes_and_config(tmp_path: Path) -> None:
    a = Meshd(
        "ea",
        tmp_path,
        extra_args=["--extension", GOOD],
        extra_config='[extensions.hits]\ncolour = "green"\n',
    )
    # The second node gets it through the environment variable instead of the flag.
    b = Meshd("eb", tmp_path, env={"MESHD_EXTENSIONS": GOOD})
    b.extra_config = a.extra_config
    nodes = [a.start()]
    try:
        a.wait_ready()
        b.seeds = [a.gossip_port]
        nodes.append(b.start())
        b.wait_ready()
        info = a.request("GET", "/v1/hits/info").json()
        assert info["host_id"] == "ea"
        assert info["config"]["colour"] == "green"
        assert info["started"] is True
        for _ in range(3):
            assert a.request("POST", "/v1/hits").status == 200
        assert b.request("POST", "/v1/hits").status == 200
        # The extension's table is replicated like any other.
        wait_until(lambda: all(n.request("GET", "/v1/hits").json()["value"] == 4 for n in nodes))
    finally:
        stop_all(nodes)


def test_failing_extension_is_skipped(tmp_path: Path) -> None:
    node = Meshd("eb", tmp_path, extra_args=["--extension", BROKEN, "--extension", GOOD])
    try:
        node.start().wait_ready()
        assert node.request("GET", "/v1/hits").status == 200
        assert node.put("k", 1).status == 200
        log = node.log_path.read_text()
        assert "extension failed; continuing without it" in log
        assert "broken" in log
    finally:
        stop_all([node])


def test_required_failing_extension_exits_2(tmp_path: Path) -> None:
    node = Meshd(
        "ec",
        tmp_path,
        extra_args=["--extension", BROKEN],
        extra_config="[extensions.broken]\nrequired = true\n",
    )
    node.start()
    assert node.proc is not None
    try:
        code = node.proc.wait(30)
    except subprocess.TimeoutExpired:
        stop_all([node])
        raise
    assert code == 2
    last = node.log_path.read_text().strip().splitlines()[-1]
    assert last.startswith("meshd: error: required extension broken failed in setup")
