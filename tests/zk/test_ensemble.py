"""A three-server ensemble: clients ride out the loss of the leader.

What is asserted after the leader is killed: every client reconnects (sessions of 4 s
survive the re-election); the member set seen by every host is again all three hosts; the
lease holder either still holds a valid lease (it never saw a disconnection) or was told
once via on_lost (it was disconnected: the conservative rule); either way the lease ends up
held by exactly one manager, and a holder after the failover has a fencing token at least
as large as before (strictly larger if the lease changed hands).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from mesh.zk import Lease, LeaseManager, ZkMembership
from tests.zk.conftest import SESSION_TIMEOUT, eventually
from tests.zk.zkserver import ZkCluster, ZkUnavailable

pytestmark = pytest.mark.zookeeper


@pytest.fixture(scope="module")
def ensemble() -> Iterator[ZkCluster]:
    try:
        cluster = ZkCluster(size=3)
        cluster.start()
    except ZkUnavailable as e:
        pytest.fail(f"ZooKeeper is required for tests/zk: {e}", pytrace=False)
    yield cluster
    cluster.stop()


def test_leader_loss(ensemble: ZkCluster, zk_root: str) -> None:
    hosts = ensemble.hosts
    members = [
        ZkMembership(hosts, f"h{i}", {"i": i}, root=zk_root, session_timeout=SESSION_TIMEOUT)
        for i in range(3)
    ]
    managers = [
        LeaseManager(
            m.client, root=f"{zk_root}/leases", holder=m.host_id, session_timeout=SESSION_TIMEOUT
        )
        for m in members
    ]
    lost: list[Lease] = []
    try:
        for m in members:
            m.start()
        for m in members:
            eventually(lambda m=m: set(m.members()) == {"h0", "h1", "h2"}, "all see all")
        before = managers[0].acquire("edge-uplink", ttl=30, on_lost=lost.append)
        assert before is not None
        assert managers[1].acquire("edge-uplink", ttl=30) is None

        leader = ensemble.leader()
        assert leader is not None and leader.mode() == "leader"
        ensemble.kill(leader)
        eventually(lambda: ensemble.leader() is not None, "a new leader elected")
        for m in members:
            eventually(lambda m=m: m.connected, f"{m.host_id} reconnected")
        for m in members:
            eventually(lambda m=m: set(m.members()) == {"h0", "h1", "h2"}, "all see all again")

        if lost:
            assert lost == [before] and not before.valid
        else:
            assert before.valid
        # Exactly one holder afterwards: the old one, or whoever acquires it now.
        after = before if before.valid else managers[0].acquire_wait("edge-uplink", 30, 30)
        assert after is not None and after.fencing_token >= before.fencing_token
        if after is not before:
            assert after.fencing_token > before.fencing_token
        for other in managers[1:]:
            assert other.acquire("edge-uplink", ttl=30) is None

        # The killed server rejoins as a follower; everything keeps working.
        ensemble.start_server(leader)
        ensemble.wait_serving([leader])
        assert leader.mode() == "follower"
        after.release()
        again = managers[2].acquire_wait("edge-uplink", ttl=30, timeout=30)
        assert again is not None and again.fencing_token > after.fencing_token
    finally:
        for mgr in managers:
            mgr.close()
        for m in members:
            m.stop()
