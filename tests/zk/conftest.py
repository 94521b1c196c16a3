"""Fixtures: a real standalone ZooKeeper for the directory, unique roots, session tools."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator

import pytest
from kazoo.client import KazooClient

from tests.zk.zkserver import ZkCluster, ZkUnavailable

SESSION_TIMEOUT = 4.0


@pytest.fixture(scope="session")
def zk_single() -> Iterator[ZkCluster]:
    """One standalone ZooKeeper server for the whole session (FAILS if not installed)."""
    try:
        cluster = ZkCluster(size=1)
        cluster.start()
    except ZkUnavailable as e:
        pytest.fail(f"ZooKeeper is required for tests/zk: {e}", pytrace=False)
    yield cluster
    cluster.stop()


@pytest.fixture
def zk_root() -> str:
    """A fresh znode root per test, so tests sharing a server never see each other."""
    return f"/t-{uuid.uuid4().hex[:12]}"


def eventually(pred: Callable[[], object], what: str, timeout: float = 30.0) -> None:
    """Poll pred until truthy; fail naming `what` after a generous timeout."""
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError(f"not reached within {timeout:.0f}s: {what}")
        time.sleep(0.05)


def expire_session(client: KazooClient, hosts: str) -> None:
    """Expire client's session: open a second connection with the same session id and
    password and close it (the classic trick); the first client then sees LOST."""
    cid = client.client_id
    assert cid is not None, "client not connected"
    twin = KazooClient(hosts=hosts, client_id=cid, timeout=SESSION_TIMEOUT)
    twin.start(timeout=15)
    twin.stop()
    twin.close()
