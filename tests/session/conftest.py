"""Fixtures: real Cassandra for the tests marked ``cassandra``.

One node for the whole run (started on first use, shared); a three-node cluster (RF 3,
QUORUM) only for the few tests that ask for it, also started once. Missing java/maven
FAILS the tests that need them (no silent skip).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.session.cassandra_server import CassandraCluster, CassandraUnavailable

_started: list[CassandraCluster] = []


@pytest.fixture(scope="session")
def cassandra_node() -> Iterator[CassandraCluster]:
    """One Cassandra node on 127.0.0.1 (free ports), shared by every test of the run.
    A test that kills it must start it again before it ends (see ``restarted``)."""
    cluster = _start(size=1, heap="512M")
    yield cluster
    cluster.stop()


@pytest.fixture(scope="session")
def cassandra_cluster3() -> Iterator[CassandraCluster]:
    """Three nodes on 127.0.0.1-3, all seeds (started together), for RF 3 QUORUM tests."""
    cluster = _start(size=3, heap="384M")
    yield cluster
    cluster.stop()


def _start(size: int, heap: str) -> CassandraCluster:
    avoid = {p for c in _started for p in c.ports}
    try:
        cluster = CassandraCluster(size=size, heap=heap, avoid_ports=avoid)
        cluster.start()
    except CassandraUnavailable as e:
        pytest.fail(f"a real Cassandra is required for these tests: {e}", pytrace=False)
    _started.append(cluster)
    return cluster
