"""Five real meshd processes on loopback: replication, crash and restart (with and without a
data dir), graceful leave."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import msgpack
import pytest

import crdt
from tests.mesh_proc.harness import Meshd, all_alive, start_cluster, stop_all, wait_until

N = 5


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Meshd]]:
    workdir = tmp_path_factory.mktemp("cluster")
    # n4 persists its tables; the others run without a data dir.
    nodes = start_cluster(workdir, N, persist=[4])
    try:
        wait_until(lambda: all_alive(nodes), timeout=60)
        yield nodes
    except BaseException:
        for n in nodes:
            print(f"--- {n.host_id}\n{n.log_tail()}")
        raise
    finally:
        stop_all(nodes)


def snapshot_kv(path: Path) -> dict[str, object]:
    """The "kv" table as persisted in a data dir's snapshot ({} if none yet)."""
    if not path.exists():
        return {}
    snap = msgpack.unpackb(path.read_bytes(), raw=False)
    value: dict[str, object] = crdt.decode(snap["tables"]["kv"]).value()
    return value


def has_everywhere(nodes: list[Meshd], key: str, value: object) -> bool:
    for n in nodes:
        resp = n.get(key)
        if resp.status != 200 or resp.json() != value:
            return False
    return True


def absent_everywhere(nodes: list[Meshd], key: str) -> bool:
    return all(n.get(key).status == 404 for n in nodes)


def test_members_json(cluster: list[Meshd]) -> None:
    members = cluster[2].members()
    assert sorted(members) == [f"n{i}" for i in range(N)]
    for node in cluster:
        m = members[node.host_id]
        assert m["state"] == "alive"
        assert m["gossip"] == node.gossip
        assert m["api"] == f"127.0.0.1:{node.api_port}"


def test_write_anywhere_read_everywhere(cluster: list[Meshd]) -> None:
    assert cluster[1].put("color", {"name": "blue"}).status == 200
    wait_until(lambda: has_everywhere(cluster, "color", {"name": "blue"}))
    assert cluster[3].put("color", {"name": "red"}).status == 200
    wait_until(lambda: has_everywhere(cluster, "color", {"name": "red"}))
    assert cluster[0].request("DELETE", "/v1/kv/color").status == 204
    wait_until(lambda: absent_everywhere(cluster, "color"))
    # Concurrent writes to distinct keys on every node all arrive everywhere.
    for i, node in enumerate(cluster):
        assert node.put(f"from-{i}", i).status == 200
    wait_until(lambda: all(n.kv().get(f"from-{i}") == i for n in cluster for i in range(N)))


def test_large_value_travels_by_stream(cluster: list[Meshd]) -> None:
    # Far above the 1400-byte MTU: it cannot go by datagram, push-pull/pull must carry it.
    big = {"blob": "x" * 40_000, "n": list(range(500))}
    assert cluster[2].put("big", big).status == 200
    wait_until(lambda: has_everywhere(cluster, "big", big))
    for node in cluster:
        text = node.request("GET", "/metrics").body.decode()
        assert 'reason="datagram_over_mtu"' not in text
        assert 'mesh_bytes_in_total{kind="stream"}' in text


def test_sigkill_and_restart_with_data_dir(cluster: list[Meshd]) -> None:
    victim = cluster[4]
    assert victim.data_dir is not None
    assert cluster[0].put("before-crash", "x").status == 200
    wait_until(lambda: has_everywhere(cluster, "before-crash", "x"))
    snapshot = victim.data_dir / "snapshot.msgpack"
    wait_until(lambda: "before-crash" in snapshot_kv(snapshot))
    victim.kill()
    assert cluster[1].put("while-down", "y").status == 200
    # Let the others declare it dead first: the restart must then outbid that verdict.
    others = cluster[:4]
    wait_until(lambda: all(n.member_states().get(victim.host_id) == "dead" for n in others))
    old_incarnation = cluster[0].members()[victim.host_id]["incarnation"]
    victim.start().wait_ready()
    # The snapshot is loaded before the API opens: the old write is there at once.
    assert victim.get("before-crash").json() == "x"
    wait_until(lambda: victim.get("while-down").status == 200)
    assert victim.get("while-down").json() == "y"
    wait_until(lambda: all_alive(cluster), timeout=60)
    assert cluster[0].members()[victim.host_id]["incarnation"] > old_incarnation
    # And writes made by the restarted node still spread.
    assert victim.put("after-restart", 1).status == 200
    wait_until(lambda: has_everywhere(cluster, "after-restart", 1))


def test_sigkill_and_restart_without_data_dir(cluster: list[Meshd]) -> None:
    victim = cluster[3]
    assert victim.data_dir is None
    # Killed and back before anyone notices: the new process simply rejoins.
    victim.kill()
    assert cluster[2].put("while-3-down", [1, 2]).status == 200
    victim.start().wait_ready()
    # Empty at start; push-pull and gossip bring the whole table.
    wait_until(lambda: victim.kv() == cluster[0].kv() and "while-3-down" in victim.kv())
    wait_until(lambda: all_alive(cluster), timeout=60)


def test_sigterm_is_a_graceful_leave(cluster: list[Meshd], tmp_path: Path) -> None:
    leaver = cluster[4]
    assert leaver.terminate() == 0
    assert "meshd stopped" in leaver.log_tail()
    others = cluster[:4]
    wait_until(lambda: all(n.member_states().get(leaver.host_id) == "left" for n in others))
    # The final snapshot was written on the way out.
    assert leaver.data_dir is not None
    assert (leaver.data_dir / "snapshot.msgpack").exists()


def test_rejoin_after_leave_without_data_dir(cluster: list[Meshd]) -> None:
    # n3 leaves gracefully, then comes back as a new process with incarnation 0: it must
    # outbid the "left" verdict the others still hold about it.
    node = cluster[3]
    assert node.terminate() == 0
    others = cluster[:3]
    wait_until(lambda: all(n.member_states().get(node.host_id) == "left" for n in others))
    node.start().wait_ready()
    wait_until(lambda: all_alive(cluster[:4]), timeout=60)
    wait_until(lambda: node.kv() == cluster[0].kv())
