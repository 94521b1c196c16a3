"""The simulator itself: determinism, partitions, streams across partitions, guards."""

from __future__ import annotations

import pytest

from mesh.config import MeshConfig
from mesh.outputs import SendDatagram
from mesh.sim import LinkModel
from tests.mesh_core.helpers import cluster, converged, node, write


def _trace(seed: int) -> list[object]:
    net = cluster(15, seed=seed, link=LinkModel(loss=0.1, duplicate=0.1, jitter=0.05))
    net.run_until(1.0)
    for i in range(10):
        w = node(net, i)
        write(net, w, lambda w=w, i=i: w.tables["kv"].put(f"k{i}", i, now=net.now))
        net.run_until(net.now + 0.2)
    net.crash(node(net, 3).meta.gossip)
    net.run_until(net.now + 20.0)
    return [
        (net.events_processed, net.dropped),
        *[(sorted(n.metrics.messages_out.items()), n.members()) for n in net.nodes.values()],
    ]


def test_same_seed_same_run() -> None:
    assert _trace(3) == _trace(3)
    assert _trace(3) != _trace(4)


def test_partition_blocks_datagrams_and_fails_streams() -> None:
    net = cluster(4, seed=1)
    a, b = node(net, 0), node(net, 1)
    net.partition([[a.meta.gossip], [b.meta.gossip]])
    assert not net.reachable(a.meta.gossip, b.meta.gossip)
    assert net.reachable(node(net, 2).meta.gossip, node(net, 3).meta.gossip)  # both ungrouped
    opened = a.join(net.now, [b.meta.gossip])
    net.inject(a.meta.gossip, opened)
    net.run_until(net.now + 3.0)
    assert a.metrics.drops["stream_failed"] == 1  # the stream failed instead of hanging
    net.heal()
    assert net.reachable(a.meta.gossip, b.meta.gossip)


def test_guards_catch_core_bugs() -> None:
    net = cluster(2, seed=1)
    a = node(net, 0)
    with pytest.raises(RuntimeError, match="mtu"):
        net.inject(a.meta.gossip, [SendDatagram(node(net, 1).meta.gossip, b"x" * 5000)])
    a.next_deadline = lambda: net.now  # type: ignore[method-assign]
    with pytest.raises(RuntimeError, match="keeps asking"):
        net.run_until(net.now + 1.0)


@pytest.mark.parametrize("profile", ["lan", "wan", "local"])
def test_every_profile_runs_without_busy_loops(profile: str) -> None:
    # the simulator raises if a node asks for a tick at the same instant over and over
    cfg = getattr(MeshConfig, profile)()
    net = cluster(12, seed=23, config=cfg, link=LinkModel(loss=0.1, jitter=0.05))
    net.run_until(5.0)
    net.crash(node(net, 4).meta.gossip)
    for i in range(30):
        w = node(net, i % 4)
        write(net, w, lambda w=w, i=i: w.tables["kv"].put(f"k{i}", "v" * (i * 60), now=net.now))
        net.run_until(net.now + 0.5)
    net.partition([[node(net, i).meta.gossip for i in range(5)]])
    net.run_until(net.now + 30.0)
    net.heal()
    assert net.run_until(net.now + 300.0, converged(net))
