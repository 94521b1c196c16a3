"""Data-dir snapshots on their own: survive a clean restart, refuse another host's data dir,
move a corrupt snapshot aside and start empty."""

from __future__ import annotations

from pathlib import Path

from tests.mesh_proc.harness import Meshd, stop_all


def test_restart_after_sigterm_keeps_data_and_incarnation(tmp_path: Path) -> None:
    node = Meshd("p1", tmp_path, data_dir=tmp_path / "data")
    try:
        node.start().wait_ready()
        assert node.put("kept", {"v": 1}).status == 200
        assert node.terminate() == 0
        node.start().wait_ready()
        assert node.get("kept").json() == {"v": 1}
        # It resumes above the persisted incarnation (peers then believe it at once).
        assert node.members()["p1"]["incarnation"] >= 1
    finally:
        stop_all([node])


def test_other_hosts_data_dir_is_a_config_error(tmp_path: Path) -> None:
    data = tmp_path / "data"
    first = Meshd("owner", tmp_path, data_dir=data)
    try:
        first.start().wait_ready()
        assert first.terminate() == 0
    finally:
        stop_all([first])
    intruder = Meshd("intruder", tmp_path, data_dir=data).start()
    assert intruder.proc is not None
    assert intruder.proc.wait(30) == 2
    last = intruder.log_tail().splitlines()[-1]
    assert last.startswith("meshd: error: data_dir") and "belongs to host 'owner'" in last


def test_corrupt_snapshot_is_moved_aside(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "snapshot.msgpack").write_bytes(b"\x93garbage\xff")
    node = Meshd("p2", tmp_path, data_dir=data)
    try:
        node.start().wait_ready()
        assert (data / "snapshot.corrupt").read_bytes() == b"\x93garbage\xff"
        assert node.kv() == {}
        assert "unreadable snapshot moved aside" in node.log_path.read_text()
        assert node.put("fresh", 1).status == 200
    finally:
        stop_all([node])
