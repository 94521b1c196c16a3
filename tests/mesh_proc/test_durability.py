"""Acknowledged kv writes survive SIGKILL (the write-ahead log is synced before the 200);
``?wait=replicas:N``; kv keys must be valid percent-encoded UTF-8. Real meshd processes."""

from __future__ import annotations

import concurrent.futures
import json
import subprocess
import sys
from pathlib import Path

from tests.mesh_proc.harness import Meshd, all_alive, start_cluster, stop_all, wait_until


class NoSnapshotMeshd(Meshd):
    """A meshd whose periodic snapshot never comes: only the write-ahead log can save."""

    def config_text(self) -> str:
        return (
            super().config_text().replace("snapshot_interval = 1.0", "snapshot_interval = 3600.0")
        )


def test_a_thousand_acknowledged_puts_survive_sigkill(tmp_path: Path) -> None:
    node = NoSnapshotMeshd("d1", tmp_path, data_dir=tmp_path / "data")
    try:
        node.start().wait_ready()

        def put(i: int) -> int:
            return node.put(f"k{i}", {"i": i}).status

        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            statuses = list(pool.map(put, range(1000)))
        assert statuses == [200] * 1000
        node.kill()  # right after the last 200
        node.start().wait_ready()
        kv = node.kv()
        missing = [i for i in range(1000) if kv.get(f"k{i}") != {"i": i}]
        assert missing == []
    finally:
        stop_all([node])


def test_writes_acked_by_a_killed_agent_survive_in_a_local_mesh(tmp_path: Path) -> None:
    nodes = start_cluster(tmp_path, 3, persist=[0, 1, 2])
    try:
        wait_until(lambda: all_alive(nodes), 30)
        victim = nodes[2]
        acked = [f"w{i}" for i in range(10) if victim.put(f"w{i}", i).status == 200]
        assert len(acked) == 10
        victim.kill()
        victim.start().wait_ready()
        wait_until(lambda: all(all(n.kv().get(k) is not None for k in acked) for n in nodes), 30)
        for n in nodes:
            kv = n.kv()
            assert {k: kv[k] for k in acked} == {f"w{i}": i for i in range(10)}
    finally:
        stop_all(nodes)


def test_wait_replicas(tmp_path: Path) -> None:
    nodes = start_cluster(tmp_path, 3)
    try:
        wait_until(lambda: all_alive(nodes), 30)
        body = json.dumps(1).encode()
        ok = nodes[0].request("PUT", "/v1/kv/r1?wait=replicas:2", body)
        assert ok.status == 200, ok.body
        # Once the 200 is back, both others hold it.
        for n in nodes[1:]:
            assert n.get("r1").status == 200
        slow = nodes[0].request("PUT", "/v1/kv/r2?wait=replicas:5&timeout=0.5", body)
        assert slow.status == 504
        assert slow.json()["wanted"] == 5 and slow.json()["replicas"] == 2
        assert nodes[0].get("r2").status == 200  # applied here all the same
        gone = nodes[0].request("DELETE", "/v1/kv/r1?wait=replicas:2")
        assert gone.status == 204
        assert nodes[1].get("r1").status == 404 and nodes[2].get("r1").status == 404
        for bad in ("wait=replicas", "wait=all", "wait=replicas:x", "wait=replicas:1&timeout=0"):
            resp = nodes[0].request("PUT", f"/v1/kv/r3?{bad}", body)
            assert resp.status == 400, bad
    finally:
        stop_all(nodes)


def test_keys_must_be_percent_encoded_utf8(tmp_path: Path) -> None:
    node = Meshd("keys", tmp_path)
    try:
        node.start().wait_ready()
        for raw in ("a%ffb", "a%", "a%zz", "%c3"):
            resp = node.request("PUT", f"/v1/kv/{raw}", b"1")
            assert resp.status == 400, (raw, resp.body)
            assert node.request("GET", f"/v1/kv/{raw}").status == 400
        assert node.kv() == {}
        assert node.request("PUT", "/v1/kv/caf%C3%A9", b"1").status == 200
        assert node.kv() == {"café": 1}
        assert node.request("GET", "/v1/kv/caf%c3%a9").json() == 1
        assert node.request("PUT", "/v1/kv/a%2Fb", b"2").status == 200
        assert node.kv()["a/b"] == 2
    finally:
        stop_all([node])


def test_help_and_bad_flags_import_no_command_plugin() -> None:
    probe = (
        "import sys, contextlib, io\n"
        "from mesh.daemon import main\n"
        "for argv in (['--help'], ['run', '--help'], ['--host-id', 'a b']):\n"
        "    with contextlib.suppress(SystemExit), contextlib.redirect_stdout(io.StringIO()),"
        " contextlib.redirect_stderr(io.StringIO()):\n"
        "        main.parse_config(argv)\n"
        "print(sorted(m for m in sys.modules if m.startswith(('services', 'datapath'))))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "[]", out.stdout
    help_text = subprocess.run(
        [sys.executable, "-m", "mesh.daemon.main", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    assert "--help-all" in help_text
