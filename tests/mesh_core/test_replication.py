"""Replicated tables on the simulated network: convergence, partitions, late joiners with
chunked state transfer, causal gaps, large deltas, subscriptions."""

from __future__ import annotations

import random
from collections.abc import Hashable

import crdt
from mesh.codec import encode_envelope, encode_message
from mesh.config import MeshConfig
from mesh.events import TableChanged
from mesh.member import MemberState
from mesh.sim import LinkModel
from mesh.sim.network import make_node
from tests.mesh_core.helpers import (
    cluster,
    converged,
    fully_alive,
    kv_table,
    node,
    state_of,
    write,
)


def test_fifty_members_converge_after_every_write() -> None:
    net = cluster(50, seed=11)
    net.run_until(2.0)
    rng = random.Random(11)
    expected: dict[str, int] = {}
    members: set[str] = set()
    for i in range(25):
        w = node(net, rng.randrange(50))
        key = f"k{rng.randrange(8)}"
        if rng.random() < 0.2 and key in expected:
            write(net, w, lambda w=w, key=key: w.tables["kv"].delete(key, now=net.now))
            del expected[key]
        else:
            write(net, w, lambda w=w, key=key, i=i: w.tables["kv"].put(key, i, now=net.now))
            expected[key] = i
        rid = w.replica_id
        write(
            net,
            w,
            lambda w=w, rid=rid, i=i: w.tables["set"].mutate(lambda s: s.add(rid, i), now=net.now),
        )
        members.add(i)  # type: ignore[arg-type]
        assert net.run_until(net.now + 5.0, converged(net)), f"write {i} did not converge"
        assert net.run_until(net.now + 5.0, converged(net, "set"))
        for n in net.live():
            assert n.tables["kv"].get() == expected
            assert n.tables["set"].get() == members


def test_partition_heals_to_the_union_without_losing_acknowledged_writes() -> None:
    net = cluster(50, seed=12)
    net.run_until(2.0)
    nodes = [node(net, i) for i in range(50)]
    left, right = nodes[:25], nodes[25:]
    net.partition([[n.meta.gossip for n in left], [n.meta.gossip for n in right]])
    acknowledged: dict[str, int] = {}
    for i in range(40):
        side = left if i % 2 == 0 else right
        w = side[i % 25]
        key = f"{'L' if side is left else 'R'}{i}"
        write(net, w, lambda w=w, key=key, i=i: w.tables["kv"].put(key, i, now=net.now))
        acknowledged[key] = i
        net.run_until(net.now + 1.0)
    # same key written on both sides: both halves must agree on one winner afterwards
    write(net, left[0], lambda: left[0].tables["kv"].put("shared", "left", now=net.now))
    write(net, right[0], lambda: right[0].tables["kv"].put("shared", "right", now=net.now))
    net.run_until(net.now + 20.0)  # long enough for each half to declare the other dead
    assert left[1].tables["kv"].get("R1") is None
    assert state_of(left[1], right[1].meta.host_id) is MemberState.DEAD  # reconnect needed
    net.heal()
    assert net.run_until(net.now + 90.0, lambda: converged(net)() and fully_alive(net)())
    final = nodes[7].tables["kv"].get()
    for key, value in acknowledged.items():
        assert final[key] == value
    assert final["shared"] in ("left", "right")


def test_late_joiner_catches_up_by_chunked_full_state() -> None:
    cfg = MeshConfig.lan(max_stream_bytes=4096, delta_log_max=32)
    net = cluster(8, seed=13, config=cfg)
    net.run_until(1.0)
    for i in range(300):
        w = node(net, i % 8)
        write(
            net, w, lambda w=w, i=i: w.tables["kv"].put(f"key-{i}", "v" * 40 + str(i), now=net.now)
        )
        net.run_until(net.now + 0.02)
    assert net.run_until(net.now + 10.0, converged(net))
    late = make_node(99, cfg, seed=13)
    kv_table(late)
    net.add(late)
    net.inject(late.meta.gossip, late.join(net.now, [node(net, 0).meta.gossip]))
    assert net.run_until(net.now + 10.0, converged(net))
    assert len(late.tables["kv"].get()) == 300
    assert late.metrics.states_applied >= 1
    assert late.metrics.messages_out["state_request"] >= 3  # several chunks of <= 4 KiB


def _gap_setup(log_max: int) -> tuple[object, object, object, list[dict[Hashable, object]]]:
    cfg = MeshConfig.lan(delta_log_max=log_max)
    # every datagram is lost: deltas can only arrive by what we inject and by push-pull
    net = cluster(2, seed=14, config=cfg, link=LinkModel(loss=1.0))
    net.run_until(1.0)
    a, b = node(net, 0), node(net, 1)
    for k in ("k1", "k2", "k3"):
        write(net, a, lambda k=k: a.tables["kv"].put(k, k.upper(), now=net.now))
    seen: list[dict[Hashable, object]] = []
    b.tables["kv"].subscribe(lambda keys: seen.append(b.tables["kv"].get()))
    third = a.replication.syncs["kv"].log[(a.replica_id, 3)]
    datagram = encode_envelope(a.meta.host_id, net.now, [encode_message(third)], None)
    net.inject(b.meta.gossip, b.receive_datagram(net.now, a.meta.gossip, datagram))
    return net, a, b, seen


def test_causal_gap_is_buffered_then_filled_from_the_delta_log() -> None:
    net, a, b, seen = _gap_setup(log_max=100)
    assert b.tables["kv"].get() == {}  # seq 3 is not applied before 1 and 2
    assert net.run_until(net.now + 3.0, lambda: b.tables["kv"].get() == a.tables["kv"].get())
    assert b.metrics.states_applied == 0 and b.metrics.deltas_applied == 3
    assert seen == [{"k1": "K1"}, {"k1": "K1", "k2": "K2"}, {"k1": "K1", "k2": "K2", "k3": "K3"}]


def test_causal_gap_falls_back_to_full_state_when_the_log_is_gone() -> None:
    net, a, b, seen = _gap_setup(log_max=1)
    assert b.tables["kv"].get() == {}
    assert net.run_until(net.now + 3.0, lambda: b.tables["kv"].get() == a.tables["kv"].get())
    assert b.metrics.states_applied == 1
    assert seen == [{"k1": "K1", "k2": "K2", "k3": "K3"}]  # never a partial, wrong merge
    assert b.replication.syncs["kv"].vv == a.replication.syncs["kv"].vv


def test_delta_larger_than_the_mtu_travels_by_stream() -> None:
    net = cluster(12, seed=15)
    net.run_until(1.0)
    w = node(net, 3)
    before = w.metrics.push_pulls
    write(net, w, lambda: w.tables["kv"].put("big", "x" * 5000, now=net.now))
    assert net.run_until(net.now + 10.0, converged(net))
    assert node(net, 9).tables["kv"].get("big") == "x" * 5000
    assert w.metrics.push_pulls > before
    assert all(n.metrics.drops["oversized"] == 0 for n in net.live())


def test_subscriptions_and_events_report_changed_keys() -> None:
    net = cluster(5, seed=16)
    net.run_until(1.0)
    w, r = node(net, 0), node(net, 4)
    r.drain_events()
    got: list[frozenset[Hashable]] = []
    unsubscribe = r.tables["kv"].subscribe(got.append)
    write(net, w, lambda: w.tables["kv"].put("a", 1, now=net.now))
    assert net.run_until(net.now + 3.0, lambda: r.tables["kv"].get("a") == 1)
    write(net, w, lambda: w.tables["kv"].delete("a", now=net.now))
    assert net.run_until(net.now + 3.0, lambda: r.tables["kv"].get("a") is None)
    assert got == [frozenset({"a"}), frozenset({"a"})]
    events = [e for e in r.drain_events() if isinstance(e, TableChanged)]
    assert [e.keys for e in events] == got and all(e.table == "kv" for e in events)
    unsubscribe()
    write(net, w, lambda: w.tables["kv"].put("b", 2, now=net.now))
    assert net.run_until(net.now + 3.0, lambda: r.tables["kv"].get("b") == 2)
    assert len(got) == 2


def test_converges_under_loss_duplication_and_reordering() -> None:
    link = LinkModel(latency=0.002, jitter=0.2, loss=0.2, duplicate=0.2)  # jitter >> gap
    net = cluster(30, seed=17, link=link)
    net.run_until(2.0)
    rng = random.Random(17)
    for i in range(60):
        w = node(net, rng.randrange(30))
        write(net, w, lambda w=w, i=i: w.tables["kv"].put(f"k{i % 20}", i, now=net.now))
        net.run_until(net.now + 0.05)
    assert net.run_until(net.now + 30.0, converged(net))
    assert len(node(net, 0).tables["kv"].get()) == 20


def test_members_with_other_tables_do_not_keep_pulling_each_other() -> None:
    net = cluster(6, seed=18)
    odd = node(net, 5)
    odd.table("extra", crdt.AWSet)  # only this member declares it
    net.run_until(1.0)
    write(
        net,
        odd,
        lambda: odd.tables["extra"].mutate(lambda s: s.add(odd.replica_id, 1), now=net.now),
    )
    write(net, odd, lambda: odd.tables["kv"].put("x", 1, now=net.now))
    assert net.run_until(net.now + 5.0, converged(net))
    before = sum(n.metrics.push_pulls for n in net.live())
    net.run_until(net.now + 20.0)
    after = sum(n.metrics.push_pulls for n in net.live())
    assert after - before <= 6  # periodic anti-entropy only, no escalation storm


def test_long_outage_is_repaired_with_logged_deltas_in_bounded_replies() -> None:
    cfg = MeshConfig.lan(max_stream_bytes=2048)  # a few deltas per push-pull reply
    net = cluster(6, seed=20, config=cfg)
    net.run_until(1.0)
    away = node(net, 5)
    net.partition([[away.meta.gossip]])
    for i in range(150):
        w = node(net, i % 5)
        write(net, w, lambda w=w, i=i: w.tables["kv"].put(f"k{i}", "v" * 30, now=net.now))
        net.run_until(net.now + 0.05)
    net.run_until(net.now + 2.0)
    pulls_before = away.metrics.messages_out["push_pull"]
    net.heal()
    assert net.run_until(net.now + 60.0, converged(net))
    assert len(away.tables["kv"].get()) == 150
    assert away.metrics.states_applied == 0  # the delta logs covered the whole outage
    assert away.metrics.messages_out["push_pull"] - pulls_before >= 3  # bounded replies


def test_chunked_transfer_while_writes_continue() -> None:
    cfg = MeshConfig.lan(max_stream_bytes=2048, delta_log_max=16)
    net = cluster(5, seed=22, config=cfg, link=LinkModel(latency=0.02, jitter=0.02))
    net.run_until(1.0)
    for i in range(120):
        w = node(net, i % 5)
        write(net, w, lambda w=w, i=i: w.tables["kv"].put(f"a{i}", "v" * 40, now=net.now))
    net.run_until(net.now + 5.0)
    late = make_node(77, cfg, seed=22)
    kv_table(late)
    net.add(late)
    net.inject(late.meta.gossip, late.join(net.now, [node(net, 0).meta.gossip]))
    for i in range(100):  # keep writing while the snapshot is fetched chunk by chunk
        w = node(net, i % 5)
        write(net, w, lambda w=w, i=i: w.tables["kv"].put(f"b{i}", "w" * 40, now=net.now))
        net.run_until(net.now + 0.01)
    assert net.run_until(net.now + 20.0, converged(net))
    assert len(late.tables["kv"].get()) == 220
    assert late.metrics.states_applied >= 1
    assert late.metrics.messages_out["state_request"] >= 2
    assert all(n.metrics.drops["bad_chunk"] == 0 for n in net.live())
