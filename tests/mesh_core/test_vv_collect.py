"""Version-vector collection (mesh/vv_collect.py): entries of writers that left, crashed
or restarted are dropped once every member holds their writes, without losing or
resurrecting data, and the members still converge."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

import crdt
from mesh.config import MeshConfig
from mesh.node import MeshNode
from mesh.sim import SimNetwork
from mesh.sim.network import make_node
from mesh.vv_collect import collectable, origin_host
from tests.mesh_core.helpers import cluster, converged, kv_table

CFG = MeshConfig.local(push_pull_interval=2.0)
N = 5


def _retired_entries(net: SimNetwork) -> list[tuple[str, str]]:
    """(member, origin) vector entries of replicas that no longer run."""
    running = {n.replica_id for n in net.live()}
    return [
        (n.meta.host_id, origin)
        for n in net.live()
        for origin in n.replication.syncs["kv"].vv
        if origin not in running
    ]


def _member(net: SimNetwork, i: int) -> MeshNode:
    """The running member with host id h<i> (insertion order changes with restarts)."""
    return next(m for m in net.nodes.values() if m.meta.host_id == f"h{i}")


def _restart(net: SimNetwork, i: int, seed: int) -> MeshNode:
    old = _member(net, i)
    net.inject(old.meta.gossip, old.leave(net.now))
    net.run_until(net.now + 1.0)
    net.remove(old.meta.gossip)
    reborn = make_node(i, CFG, seed=seed)
    kv_table(reborn)
    net.add(reborn)
    seed_addr = next(n.meta.gossip for n in net.live() if n is not reborn)
    net.inject(reborn.meta.gossip, reborn.join(net.now, [seed_addr]))
    return reborn


ops = st.lists(
    st.tuples(st.sampled_from(["put", "put", "delete", "restart", "crash"]), st.integers(0, N - 1)),
    min_size=1,
    max_size=14,
)


@settings(max_examples=25, deadline=None)
@given(script=ops, seed=st.integers(0, 999))
def test_collection_never_loses_or_resurrects_and_members_converge(
    script: list[tuple[str, int]], seed: int
) -> None:
    net = cluster(N, seed=seed, config=CFG)
    net.run_until(1.0)
    reference = crdt.ORMap(crdt.LWWRegister)  # the join of every write ever made
    crashed: set[int] = set()
    lives = 0
    for step, (op, i) in enumerate(script):
        if i in crashed:
            continue
        n = _member(net, i)
        key = f"k{step % 4}"
        if op == "put":
            reference.apply(n.tables["kv"].put(key, f"{n.replica_id}:{step}", now=net.now))
        elif op == "delete":
            reference.apply(n.tables["kv"].delete(key, now=net.now))
        elif op == "restart":
            lives += 1
            _restart(net, i, seed=10_000 + seed * 100 + lives)
        elif op == "crash" and len(crashed) < 2:
            net.crash(n.meta.gossip)
            crashed.add(i)
        net.inject(n.meta.gossip, [])
        net.run_until(net.now + 2.0)  # a write is everywhere before its writer can crash

    def settled() -> bool:
        return converged(net)() and not _retired_entries(net)

    assert net.run_until(net.now + 400.0, settled, check_every=1.0), _retired_entries(net)
    want = reference.value()
    for m in net.live():
        assert m.tables["kv"].state.value() == want, m.meta.host_id  # nothing lost or back
    # late copies of collected writers' deltas are recognised as old: no state change, no
    # entry comes back
    for m in net.live():
        before = (m.tables["kv"].state.value(), dict(m.replication.syncs["kv"].vv))
        for other in net.live():
            for delta in list(other.replication.syncs["kv"].log.values()):
                m.replication.on_delta(delta, net.now, other.meta.host_id, relay=False)
        assert (m.tables["kv"].state.value(), dict(m.replication.syncs["kv"].vv)) == before


def test_vectors_stay_bounded_over_many_writer_lifetimes() -> None:
    net = cluster(N, seed=5, config=CFG)
    net.run_until(1.0)
    for life in range(12):
        i = 1 + life % (N - 1)
        n = _member(net, i)
        n.tables["kv"].put(f"life{life}", life, now=net.now)
        net.inject(n.meta.gossip, [])
        net.run_until(net.now + 3.0)
        _restart(net, i, seed=500 + life)
        net.run_until(net.now + 10.0)
    assert net.run_until(net.now + 300.0, lambda: not _retired_entries(net), check_every=1.0)
    assert net.run_until(net.now + 60.0, converged(net), check_every=1.0)
    for m in net.live():
        assert len(m.replication.syncs["kv"].vv) <= N  # one per running writer at most
        assert {f"life{k}" for k in range(12)} <= set(m.tables["kv"].get())
        assert m.metrics.vv_collected > 0


def test_rule_needs_a_retired_writer_and_every_live_member() -> None:
    vvs = {"kv": {"a/1": 3, "b/1": 2, "me/0": 5, "me/1": 1}}
    seen = {("p", "a/1"): 3, ("q", "a/1"): 3, ("p", "me/0"): 5, ("q", "me/0"): 4}

    def look(peer: str, table: str, origin: str) -> int:
        return seen.get((peer, origin), 0)

    got = collectable(vvs, "me", "me/1", lambda h: h in {"me", "b", "p", "q"}, ["p", "q"], look)
    # a/1: host gone, everyone holds 3 -> collected; b/1: its host is live; me/0: an earlier
    # life of ours but q holds only 4 of 5; me/1: our running replica
    assert got == [("kv", "a/1", 3)]
    assert origin_host("h1/00ff") == "h1"
    assert origin_host("rack/h1/00ff") == "rack/h1"
