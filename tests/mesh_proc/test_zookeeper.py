"""meshd with --zookeeper: membership from ZooKeeper ephemeral nodes (no seeds at all),
replicated data still by gossip; SIGTERM removes the member (others see it left)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.mesh_proc.harness import Meshd, all_alive, stop_all, wait_until
from tests.zk.zkserver import ZkCluster, ZkUnavailable


@pytest.fixture(scope="module")
def zk() -> Iterator[ZkCluster]:
    try:
        cluster = ZkCluster(size=1)
        cluster.start()
    except ZkUnavailable as exc:
        pytest.fail(f"ZooKeeper is required (scripts/setup-system.sh zookeeper): {exc}")
    yield cluster
    cluster.stop()


def test_membership_from_zookeeper(zk: ZkCluster, tmp_path: Path) -> None:
    args = ["--zookeeper", zk.hosts, "--zookeeper-root", "/meshd-test"]
    nodes = [Meshd(f"z{i}", tmp_path, extra_args=args) for i in range(3)]
    try:
        for n in nodes:
            n.start()
        for n in nodes:
            n.wait_ready()
        wait_until(lambda: all_alive(nodes), timeout=60)
        assert nodes[0].put("via-gossip", "yes").status == 200
        wait_until(lambda: all(n.get("via-gossip").status == 200 for n in nodes))
        assert nodes[2].terminate() == 0
        wait_until(lambda: all(n.member_states().get("z2") == "left" for n in nodes[:2]))
    finally:
        stop_all(nodes)
