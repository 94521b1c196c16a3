"""Property test: random timers, faults and writes; the mesh never busy-loops, every
datagram fits the MTU (both checked by the simulator) and the live members converge."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from mesh.config import MeshConfig
from mesh.sim import LinkModel
from tests.mesh_core.helpers import cluster, converged, node, write

configs = st.builds(
    MeshConfig.lan,
    probe_interval=st.sampled_from([0.3, 1.0, 2.5]),
    probe_timeout=st.sampled_from([0.1, 0.5, 2.0]),
    gossip_interval=st.sampled_from([0.05, 0.2, 0.7]),
    gossip_fanout=st.integers(1, 4),
    push_pull_interval=st.sampled_from([3.0, 30.0]),
    gap_timeout=st.sampled_from([0.3, 1.0]),
    delta_log_max=st.sampled_from([2, 64]),
    max_stream_bytes=st.sampled_from([1024, 1 << 20]),
)
ops = st.lists(
    st.tuples(
        st.sampled_from(["put", "big", "delete", "crash", "partition", "heal", "leave", "wait"]),
        st.integers(0, 7),
    ),
    max_size=25,
)


@settings(max_examples=40)
@given(cfg=configs, loss=st.sampled_from([0.0, 0.05, 0.2]), script=ops, seed=st.integers(0, 99))
def test_random_scenarios_converge(
    cfg: MeshConfig, loss: float, script: list[tuple[str, int]], seed: int
) -> None:
    net = cluster(8, seed=seed, config=cfg, link=LinkModel(loss=loss, duplicate=0.05))
    net.run_until(1.0)
    gone: set[int] = set()
    for op, i in script:
        n = node(net, i)
        if i in gone:
            continue
        if op == "put":
            write(net, n, lambda n=n, i=i: n.tables["kv"].put(f"k{i}", net.now, now=net.now))
        elif op == "big":
            write(net, n, lambda n=n, i=i: n.tables["kv"].put(f"b{i}", "x" * 3000, now=net.now))
        elif op == "delete":
            write(net, n, lambda n=n, i=i: n.tables["kv"].delete(f"k{i}", now=net.now))
        elif op == "crash" and len(gone) < 3:
            net.crash(n.meta.gossip)
            gone.add(i)
        elif op == "leave" and len(gone) < 3:
            net.inject(n.meta.gossip, n.leave(net.now))
            net.run_until(net.now + 1.0)
            net.crash(n.meta.gossip)
            gone.add(i)
        elif op == "partition":
            net.partition([[node(net, j).meta.gossip for j in range(i % 4 + 1)]])
        elif op == "heal":
            net.heal()
        net.run_until(net.now + 0.7)
    net.heal()
    ok = net.run_until(net.now + 600.0, converged(net), check_every=1.0)
    assert ok, f"no convergence: {cfg!r} loss={loss} script={script} seed={seed}"
