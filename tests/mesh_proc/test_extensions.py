"""Extensions loaded into a real meshd: tables, routes, config section, failure isolation."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from tests.mesh_proc.harness import REPO, Meshd, stop_all, wait_until

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
        # Its registered counters are exported at /metrics, with their help text.
        text = a.request("GET", "/metrics").body.decode()
        assert "# HELP hits_posts_total POST /v1/hits served here" in text
        assert "hits_posts_total 3.0" in text
        assert "hits_posts_total 1.0" in b.request("GET", "/metrics").body.decode()
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


def fake_distribution(root: Path, entry: str) -> Path:
    """A minimal installed distribution (a .dist-info on PYTHONPATH) declaring ``entry`` in
    the vnetmesh.extensions group, found by importlib.metadata like a pip-installed one."""
    info = root / "vnetmesh_testext-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: vnetmesh-testext\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[vnetmesh.extensions]\n{entry}\n")
    return root


def test_entry_point_discovery_and_disable(tmp_path: Path) -> None:
    site = fake_distribution(tmp_path / "site", f"hits = {GOOD}")
    env = {"PYTHONPATH": f"{REPO}{os.pathsep}{site}"}
    found = Meshd("ep1", tmp_path, env=env, entry_points=True)
    disabled = Meshd(
        "ep2",
        tmp_path,
        env=env,
        entry_points=True,
        extra_config='[extensions]\ndisable = ["hits"]\n',
    )
    ignored = Meshd("ep3", tmp_path, env=env)  # the harness passes --no-entry-points
    try:
        for node in (found, disabled, ignored):
            node.start().wait_ready()
        assert found.request("GET", "/v1/hits").json() == {"value": 0}
        assert re.search(r"extensions=\S*hits", found.log_path.read_text())
        assert disabled.request("GET", "/v1/hits").status == 404
        assert ignored.request("GET", "/v1/hits").status == 404
    finally:
        stop_all([found, disabled, ignored])
