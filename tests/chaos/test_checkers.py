"""The chaos checkers on hand-made histories: each verdict and figure for a reason."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chaos.checkers import (
    applicable,
    check_history,
    convergence,
    membership,
    sessions,
    set_full,
    topology,
    traffic,
)
from chaos.checkers.faults import faults_of
from chaos.checkers.verdict import combine, summary
from chaos.history import HistoryError, Json, Op, load, pairs, parse_lines, save, topology_digest


class H:
    """A history builder: client ops by process, nemesis ops, in the order written."""

    def __init__(self) -> None:
        self.ops: list[Op] = []

    def op(self, t: float, p: int | str, typ: str, f: str, v: Json = None,
           node: str | None = None) -> H:
        self.ops.append(Op(t, p, typ, f, v, node))
        return self

    def call(self, t0: float, t1: float | None, p: int, f: str, v: Json, out: Json = None,
             typ: str = "ok", node: str | None = None) -> H:
        self.op(t0, p, "invoke", f, v, node)
        if t1 is not None:
            self.op(t1, p, typ, f, out if out is not None else v, node)
        return self

    def add(self, t0: float, t1: float | None, e: int, typ: str = "ok", p: int = 0) -> H:
        return self.call(t0, t1, p, "add", e, typ=typ)

    def read(self, t0: float, t1: float, seen: list[int], p: int = 9, node: str = "h1") -> H:
        return self.call(t0, t1, p, "read", None, list(seen), node=node)

    def nem(self, t: float, f: str, v: Json = None) -> H:
        return self.op(t, "nemesis", "info", f, v)


# --- history model ---


def test_history_round_trip(tmp_path: Path) -> None:
    h = H().add(0.5, 0.6, 7).nem(1.0, "start-partition", {"blocked": [["h1", "h2"]]})
    h.ops.append(Op(2.0, 3, "info", "add", 8, "h2", "timeout"))
    save(tmp_path / "h.jsonl", h.ops)
    assert load(tmp_path / "h.jsonl") == h.ops


@pytest.mark.parametrize(
    ("line", "needle"),
    [
        ("not json", "not JSON"),
        ("[1, 2]", "JSON object"),
        ('{"process": 1, "type": "ok", "f": "add"}', "missing 'time'"),
        ('{"time": -1, "process": 1, "type": "ok", "f": "add"}', "non-negative"),
        ('{"time": NaN, "process": 1, "type": "ok", "f": "add"}', "non-negative"),
        ('{"time": true, "process": 1, "type": "ok", "f": "add"}', "non-negative"),
        ('{"time": 1, "process": "x", "type": "ok", "f": "add"}', "'process'"),
        ('{"time": 1, "process": 1, "type": "done", "f": "add"}', "'type'"),
        ('{"time": 1, "process": 1, "type": "ok", "f": ""}', "'f'"),
        ('{"time": 1, "process": 1, "type": "ok", "f": "add", "node": 3}', "'node'"),
    ],
)
def test_bad_line_names_line_and_reason(line: str, needle: str) -> None:
    good = '{"time": 0, "process": 0, "type": "invoke", "f": "add", "value": 1}'
    with pytest.raises(HistoryError) as e:
        parse_lines([good, "", line])
    assert e.value.line == 3
    assert needle in str(e.value)


def test_pairs_match_by_process_and_f_and_missing_completion_is_info() -> None:
    h = H().op(0, 1, "invoke", "add", 1).op(0.1, 2, "invoke", "add", 2)
    h.op(0.2, 2, "ok", "add", 2).op(0.3, 1, "invoke", "read")
    ps = pairs(h.ops)
    assert [(p.invoke.value, p.type) for p in ps] == [(1, "info"), (2, "ok"), (None, "info")]
    assert ps[1].end == 0.2 and math.isinf(ps[0].end)


def test_topology_digest_is_order_independent() -> None:
    a = {"ports": {"p1": {"name": "a", "mtu": 1500}}, "routes": {}}
    b = {"ports": {"p1": {"mtu": 1500, "name": "a"}}}
    assert topology_digest(a) == topology_digest(b)
    assert topology_digest(a) != topology_digest({"ports": {"p1": {"name": "b"}}})


def test_faults_windows_groups_and_final_heal() -> None:
    h = H().nem(1, "start-partition", {"groups": [["h1"], ["h2", "h3"]]})
    h.nem(5, "stop-partition").nem(6, "start-kill", {"hosts": ["h2"]}).nem(9, "heal")
    f = faults_of(h.ops)
    assert [(w.fault, w.start, w.end) for w in f.windows] == [
        ("partition", 1, 5), ("kill", 6, 9)]
    assert f.blocked_at(2) == {("h1", "h2"), ("h1", "h3")}
    assert f.blocked_at(5) == frozenset()
    assert f.down("h2", 8, 8) and not f.down("h1", 8, 8)
    assert f.final_heal == 9
    assert faults_of(H().nem(1, "start-kill", {"hosts": ["h1"]}).ops).final_heal is None


def test_combine_and_summary() -> None:
    assert combine([True, "unknown"]) == "unknown"
    assert combine([True, "unknown", False]) is False
    assert combine([]) is True
    assert summary([3.0, 1.0, 2.0]) == {"count": 3, "p50": 2.0, "p99": 3.0, "max": 3.0}


# --- set ---


def test_set_all_acknowledged_and_read_is_valid() -> None:
    h = H().add(0, 0.1, 1).add(0.2, 0.3, 2).read(1, 1.1, [1, 2])
    r = set_full.check(h.ops)
    assert r["valid"] is True
    assert (r["attempt_count"], r["stable_count"], r["lost_count"]) == (2, 2, 0)


def test_set_lost_acknowledged_element_invalidates() -> None:
    h = H().add(0, 0.1, 1).add(0.2, 0.3, 2).read(1, 1.1, [1, 2]).read(5, 5.1, [2])
    r = set_full.check(h.ops)
    assert r["valid"] is False
    assert r["lost"] == [1] and r["lost_count"] == 1 and r["lost_acknowledged_count"] == 1
    assert r["stable_count"] == 1


def test_set_acked_then_never_seen_is_lost() -> None:
    r = set_full.check(H().add(0, 0.1, 1).read(1, 1.1, []).ops)
    assert r["valid"] is False and r["lost"] == [1]


def test_set_stale_read_is_counted_not_lost() -> None:
    h = H().add(0, 0.1, 1).read(1, 1.1, [], node="h2").read(2, 2.1, [1], node="h1")
    r = set_full.check(h.ops)
    assert r["valid"] is True
    assert (r["stale_count"], r["stale_read_count"], r["stable_count"]) == (1, 1, 1)
    assert r["stale"] == [1]
    assert r["stable_latency"]["max"] == pytest.approx(1.1)


def test_set_info_add_never_seen_is_not_lost() -> None:
    h = H().add(0, 0.5, 1, typ="info").add(0, None, 2, p=1).read(3, 3.1, [])
    r = set_full.check(h.ops)
    assert r["valid"] is True
    assert r["lost_count"] == 0 and r["never_read_count"] == 2
    assert r["indeterminate_count"] == 2


def test_set_info_add_seen_then_gone_is_lost() -> None:
    h = H().add(0, 0.5, 1, typ="info").read(1, 1.1, [1]).read(2, 2.1, [])
    r = set_full.check(h.ops)
    assert r["valid"] is False and r["lost"] == [1] and r["lost_acknowledged_count"] == 0


def test_set_read_concurrent_with_add_is_neither_stale_nor_lost() -> None:
    h = H().add(0, 1.0, 1).read(0.5, 1.5, []).read(2, 2.1, [1])
    r = set_full.check(h.ops)
    assert r["valid"] is True and r["stale_count"] == 0


def test_set_unexpected_and_failed_but_present_invalidate() -> None:
    r = set_full.check(H().add(0, 0.1, 1).read(1, 1.1, [1, 99]).ops)
    assert r["valid"] is False and r["unexpected"] == ["99"]
    r = set_full.check(H().add(0, 0.1, 1, typ="fail").read(1, 1.1, [1]).ops)
    assert r["valid"] is False and r["failed_but_present"] == [1]


def test_set_acked_without_any_read_is_unknown() -> None:
    assert set_full.check(H().add(0, 0.1, 1).ops)["valid"] == "unknown"


def test_set_elements_compare_as_text() -> None:
    r = set_full.check(H().add(0, 0.1, 417).call(1, 1.1, 9, "read", None, ["417"]).ops)
    assert r["valid"] is True and r["stable_count"] == 1


def test_set_add_latency_percentiles() -> None:
    h = H()
    for i in range(100):
        h.add(i, i + 0.01 * (i + 1), i)
    h.read(200, 200.1, list(range(100)))
    lat = set_full.check(h.ops)["add_latency"]
    assert lat["count"] == 100
    assert lat["p50"] == pytest.approx(0.5) and lat["max"] == pytest.approx(1.0)


ELEMENT = st.one_of(st.integers(-3, 8), st.sampled_from(["1", "x"]), st.none(), st.booleans(),
                    st.floats(allow_nan=True), st.lists(st.integers(0, 3), max_size=2))
OPS = st.lists(
    st.tuples(
        st.floats(0, 100, allow_nan=False),
        st.one_of(st.integers(0, 3), st.just("nemesis")),
        st.sampled_from(["invoke", "ok", "fail", "info"]),
        st.sampled_from(["add", "read", "start-kill", "stop-kill", "heal"]),
        st.one_of(ELEMENT, st.lists(ELEMENT, max_size=6), st.dictionaries(
            st.sampled_from(["hosts", "blocked"]), st.lists(st.text(max_size=2), max_size=3))),
    ),
    max_size=60,
)


@settings(max_examples=300, deadline=None)
@given(OPS)
def test_set_checker_never_crashes_and_accounts_for_every_element(raw: list) -> None:
    ops = sorted((Op(t, p, typ, f, v) for t, p, typ, f, v in raw), key=lambda o: o.time)
    r = set_full.check(ops)
    assert r["valid"] in (True, False, "unknown")
    unseen_failed = r["failed_count"] - r["failed_but_present_count"]
    accounted = r["stable_count"] + r["lost_count"] + r["never_read_count"] + unseen_failed
    # a failed add that shows up is counted as stable or lost too
    assert accounted >= r["attempt_count"]
    assert r["lost_count"] >= len(r["lost"])
    json.dumps(r, allow_nan=False)
    results = check_history(ops)
    assert results["valid"] in (True, False, "unknown")


# --- topology ---


def digest_read(t: float, agent: str, objects: dict, p: int = 20) -> list[Op]:
    v = {"agent": agent, "digest": topology_digest(objects), "objects": objects}
    return [Op(t, p, "invoke", "digest", None, agent), Op(t + 0.1, p, "ok", "digest", v, agent)]


def topo_history(final: dict, agents: tuple[str, ...] = ("h1", "h2"), extra: H | None = None,
                 ) -> list[Op]:
    h = extra or H()
    h.call(0, 0.1, 1, "create", {"kind": "ports", "fields": {"name": "a"}},
           {"kind": "ports", "id": "p1", "fields": {"name": "a", "mtu": 1500}})
    h.call(1, 1.1, 1, "update", {"kind": "ports", "id": "p1", "fields": {"name": "b"}})
    h.call(2, 2.1, 2, "create", {"kind": "bridges", "fields": {"name": "br"}},
           {"kind": "bridges", "id": "b1", "fields": {"name": "br"}})
    h.call(3, 3.1, 2, "delete", {"kind": "bridges", "id": "b1"})
    h.nem(4, "heal", {"final": True})
    ops = list(h.ops)
    for k, a in enumerate(agents):
        ops += digest_read(10 + k, a, final, p=20 + k)
    return ops


GOOD = {"ports": {"p1": {"name": "b", "mtu": 1500}}}


def test_topology_agreeing_and_matching_the_model_is_valid() -> None:
    r = topology.check(topo_history(GOOD))
    assert r["valid"] is True and r["digests_agree"] is True and r["model_valid"] is True
    assert r["objects_expected"] == 1 and r["states_compared"] == 1


def test_topology_different_digests_invalidate() -> None:
    ops = topo_history(GOOD, agents=("h1",))
    ops += digest_read(20, "h2", {"ports": {"p1": {"name": "a", "mtu": 1500}}})
    r = topology.check(ops)
    assert r["valid"] is False and r["digests_agree"] is False and r["distinct_digests"] == 2


def test_topology_older_value_after_sequential_updates_is_a_mismatch() -> None:
    r = topology.check(topo_history({"ports": {"p1": {"name": "a", "mtu": 1500}}}))
    assert r["valid"] is False and r["field_mismatch_count"] == 1
    assert r["field_mismatches"][0]["field"] == "name"


def test_topology_concurrent_updates_either_value_wins() -> None:
    for winner in ("b", "c"):
        h = H().call(1.05, 1.2, 3, "update", {"kind": "ports", "id": "p1", "fields": {"name": "c"}})
        final = {"ports": {"p1": {"name": winner, "mtu": 1500}}}
        assert topology.check(topo_history(final, extra=h))["valid"] is True


def test_topology_clock_fault_allows_any_writer() -> None:
    h = H().nem(0.5, "start-clock", {"hosts": ["h2"], "offset": 60}).nem(0.6, "stop-clock")
    r = topology.check(topo_history({"ports": {"p1": {"name": "a", "mtu": 1500}}}, extra=h))
    assert r["valid"] is True and r["lww_order"].startswith("any")


def test_topology_deleted_object_present_is_resurrected() -> None:
    final = {"ports": GOOD["ports"], "bridges": {"b1": {"name": "br"}}}
    r = topology.check(topo_history(final))
    assert r["valid"] is False and r["resurrected"] == ["bridges/b1"]


def test_topology_update_concurrent_with_delete_does_not_revive() -> None:
    h = H().call(2.9, 3.2, 3, "update", {"kind": "bridges", "id": "b1", "fields": {"mtu": 9000}})
    final = {"ports": GOOD["ports"], "bridges": {"b1": {"mtu": 9000}}}
    assert topology.check(topo_history(final, extra=h))["resurrected"] == ["bridges/b1"]
    assert topology.check(topo_history(GOOD, extra=h))["valid"] is True


def test_topology_acknowledged_create_missing_is_invalid() -> None:
    r = topology.check(topo_history({}))
    assert r["valid"] is False and r["missing"] == ["ports/p1"]


def test_topology_indeterminate_create_may_show_but_a_phantom_may_not() -> None:
    h = H().call(0.5, 0.9, 4, "create", {"kind": "routers", "fields": {"name": "r"}}, typ="info")
    with_it = {**GOOD, "routers": {"r9": {"name": "r"}}}
    r = topology.check(topo_history(with_it, extra=h))
    assert r["valid"] is True and r["explained_by_indeterminate_create"] == 1
    assert topology.check(topo_history(GOOD, extra=H().call(
        0.5, 0.9, 4, "create", {"kind": "routers", "fields": {"name": "r"}}, typ="info")))[
        "valid"] is True
    phantom = {**GOOD, "routers": {"r9": {"name": "zz"}}}
    h2 = H().call(0.5, 0.9, 4, "create", {"kind": "routers", "fields": {"name": "r"}}, typ="info")
    r = topology.check(topo_history(phantom, extra=h2))
    assert r["valid"] is False and r["phantoms"] == ["routers/r9"]


def test_topology_indeterminate_delete_allows_either() -> None:
    h = H().call(5, 6, 5, "delete", {"kind": "ports", "id": "p1"}, typ="info")
    assert topology.check(topo_history(GOOD, extra=h))["valid"] is True
    assert topology.check(topo_history({}, extra=h))["valid"] is True


def test_topology_digests_without_objects_leave_the_model_unknown() -> None:
    ops = [o for o in topo_history(GOOD) if o.f != "digest"]
    for k, a in enumerate(("h1", "h2")):
        ops += [Op(10 + k, 20 + k, "ok", "digest", {"agent": a, "digest": "abc"})]
    r = topology.check(ops)
    assert r["digests_agree"] is True and r["model_valid"] == "unknown"
    assert r["valid"] == "unknown"


# --- traffic ---


VMS = ("a", "b")


def traffic_history(received_after_heal: int = 10, cross: int = 0) -> list[Op]:
    h = H().op(0, 30, "ok", "expected", {"pairs": [
        {"src": "a", "dst": "b", "reachable": True},
        {"src": "b", "dst": "a", "reachable": True}]})
    h.nem(1, "start-partition", {"kind": "halves", "blocked": [["h1", "h2"]]})
    h.nem(5, "stop-partition").nem(5, "heal", {"final": True})
    for t, got in ((0.0, 10), (2.0, 0), (6.0, received_after_heal)):
        for s, d in (("a", "b"), ("b", "a")):
            h.call(t, t + 1, 31 if s == "a" else 32, "ping", {"src": s, "dst": d},
                   {"src": s, "dst": d, "sent": 10, "received": got})
    h.op(7, 33, "ok", "cross-tenant", {"vm": "c", "tenant": "t2", "count": cross})
    return h.ops


def test_traffic_healed_and_isolated_is_valid_with_loss_per_fault() -> None:
    r = traffic.check(traffic_history())
    assert r["valid"] is True and r["cross_tenant_packets"] == 0
    assert r["loss_per_fault"]["partition:halves"] == {"sent": 20, "received": 0, "loss": 1.0}
    assert r["loss_per_fault"]["none"]["loss"] == 0.0
    assert r["loss"] == {"sent": 60, "received": 40, "loss": round(1 / 3, 4)}
    assert r["loss_per_pair"]["a->b"]["sent"] == 30
    assert r["loss_per_window"] == [{"fault": "partition:halves", "start": 1, "end": 5,
                                     "sent": 20, "received": 0, "loss": 1.0}]


def test_traffic_cross_tenant_packet_invalidates() -> None:
    r = traffic.check(traffic_history(cross=1))
    assert r["valid"] is False and r["cross_tenant_packets"] == 1
    assert r["cross_tenant_by_vm"] == {"c": 1}


def test_traffic_unreachable_after_heal_invalidates() -> None:
    r = traffic.check(traffic_history(received_after_heal=0))
    assert r["valid"] is False and r["unreachable_after_heal"] == [["a", "b"], ["b", "a"]]


def test_traffic_without_expected_matrix_is_unknown() -> None:
    ops = [o for o in traffic_history() if o.f != "expected"]
    assert traffic.check(ops)["valid"] == "unknown"


# --- membership ---


def members(h: H, t: float, observer: str, states: dict[str, str]) -> None:
    h.op(t, 40, "ok", "members", {"observer": observer, "members": states})


ALL = {"h1": "alive", "h2": "alive", "h3": "alive"}


def test_membership_false_dead_declaration_is_counted() -> None:
    h = H()
    members(h, 1, "h1", ALL)
    members(h, 2, "h1", {**ALL, "h3": "dead"})
    members(h, 3, "h1", ALL)
    r = membership.check(h.ops)
    assert r["valid"] is False and r["false_positive_count"] == 1
    assert r["false_positives"] == [{"time": 2, "observer": "h1", "member": "h3"}]
    assert r["flap_count"] == 1 and r["unexplained_flap_count"] == 1


def test_membership_killed_host_detect_and_readmit_times() -> None:
    h = H()
    for obs in ("h1", "h2"):
        members(h, 1, obs, ALL)
    h.nem(2, "start-kill", {"hosts": ["h3"]})
    members(h, 4, "h1", {**ALL, "h3": "suspect"})
    members(h, 5, "h1", {**ALL, "h3": "dead"})
    members(h, 7, "h2", {**ALL, "h3": "dead"})
    h.nem(10, "stop-kill", {"hosts": ["h3"]})
    members(h, 11, "h1", ALL)
    members(h, 12.5, "h2", ALL)
    h.nem(13, "heal", {"final": True})
    r = membership.check(h.ops)
    assert r["valid"] is True and r["false_positive_count"] == 0
    assert r["dead_declarations"] == 2
    assert r["detect_time"] == {"count": 2, "p50": 3.0, "p99": 5.0, "max": 5.0}
    assert r["readmit_time"]["max"] == 2.5 and r["undetected_kill_count"] == 0


def test_membership_minority_and_paused_and_lossy_declarations_are_justified() -> None:
    h = H().nem(1, "start-partition", {"blocked": [["h1", "h3"], ["h2", "h3"]]})
    members(h, 0.5, "h1", ALL)
    members(h, 3, "h1", {**ALL, "h3": "dead"})  # h3 in a minority: justified
    h.nem(4, "stop-partition").nem(40, "start-pause", {"hosts": ["h2"]})
    members(h, 39, "h3", ALL)
    members(h, 42, "h3", {**ALL, "h2": "dead"})  # h2 paused: justified
    h.nem(43, "stop-pause").nem(80, "start-loss", {"hosts": ["h1"], "probability": 0.5})
    members(h, 79, "h2", ALL)
    members(h, 82, "h2", {**ALL, "h1": "dead"})  # loss: apart
    r = membership.check(h.ops)
    assert r["false_positive_count"] == 0 and r["dead_during_loss_count"] == 1
    assert r["dead_declarations"] == 3


def test_membership_host_not_alive_at_the_end_invalidates() -> None:
    h = H()
    members(h, 1, "h1", ALL)
    h.nem(2, "start-kill", {"hosts": ["h3"]}).nem(5, "stop-kill").nem(6, "heal")
    members(h, 4, "h1", {**ALL, "h3": "dead"})
    members(h, 20, "h1", {**ALL, "h3": "dead"})
    r = membership.check(h.ops)
    assert r["valid"] is False
    assert r["final_not_alive"] == [{"observer": "h1", "member": "h3", "state": "dead"}]
    assert r["not_readmitted"] == [{"member": "h3", "observer": "h1", "restarted": 5}]


# --- sessions ---


def test_sessions_broken_invalidates_and_stall_is_measured() -> None:
    h = H()
    for t, n in ((0, 10), (1, 20), (2, 20), (3, 20), (4, 30)):
        h.op(t, 50, "ok", "session", {"id": "s1", "src": "a", "dst": "x", "state": "open",
                                       "bytes": n})
    r = sessions.check(h.ops)
    assert r["valid"] is True and r["stall"]["max"] == 3.0
    h.op(5, 50, "ok", "session", {"id": "s1", "src": "a", "dst": "x", "state": "broken"})
    r = sessions.check(h.ops)
    assert r["valid"] is False and r["broken"] == [{"id": "s1", "time": 5}]


# --- convergence ---


def state(h: H, t: float, agent: str, kv: str, members: str = "M") -> None:
    h.op(t, 60, "ok", "state", {"agent": agent, "kv": kv, "members": members})


def test_convergence_time_from_final_heal_until_all_agree() -> None:
    h = H().nem(1, "start-partition", {"blocked": [["h1", "h2"]]}).nem(5, "heal")
    state(h, 5.2, "h1", "A")
    state(h, 5.3, "h2", "B")
    state(h, 5.7, "h2", "A")
    r = convergence.check(h.ops)
    assert r["valid"] is True
    assert r["final"] == {"kv": pytest.approx(0.7), "members": pytest.approx(0.3)}
    assert r["max"] == pytest.approx(0.7) and r["heals_measured"] == 1


def test_convergence_heal_right_after_the_last_stop_is_one_heal() -> None:
    h = H().nem(1, "start-partition", {"blocked": [["h1", "h2"]]}).nem(5, "stop-partition")
    h.nem(5.06, "heal", {"final": True})
    state(h, 5.2, "h1", "A")
    state(h, 5.5, "h2", "A")
    r = convergence.check(h.ops)
    assert r["heals_measured"] == 1 and r["measured_from"] == 5
    assert r["final"]["kv"] == pytest.approx(0.5)


def test_convergence_never_agreeing_after_final_heal_invalidates() -> None:
    h = H().nem(1, "start-kill", {"hosts": ["h2"]}).nem(5, "heal")
    state(h, 6, "h1", "A")
    state(h, 7, "h2", "B")
    r = convergence.check(h.ops)
    assert r["valid"] is False and r["not_converged"] == ["kv"]


def test_convergence_without_final_heal_is_unknown() -> None:
    h = H().nem(1, "start-kill", {"hosts": ["h2"]})
    state(h, 6, "h1", "A")
    assert convergence.check(h.ops)["valid"] == "unknown"


# --- results ---


def test_check_history_picks_checkers_from_ops_and_combines() -> None:
    ops = H().add(0, 0.1, 1).read(1, 1.1, [1]).ops + traffic_history(cross=2)
    assert applicable(ops) == ["set", "traffic"]
    r = check_history(ops)
    assert set(r) == {"valid", "checkers"} and set(r["checkers"]) == {"set", "traffic"}
    assert r["checkers"]["set"]["valid"] is True
    assert r["valid"] is False
    ok = check_history(H().add(0, 0.1, 1).ops)
    assert ok["valid"] == "unknown"


HOST = st.sampled_from(["h1", "h2", "h3"])
SCALAR = st.one_of(st.none(), st.booleans(), st.integers(-2, 20), st.floats(allow_nan=True),
                   HOST, st.sampled_from(["alive", "dead", "suspect", "open", "broken", "ports"]))
VALUE = st.recursive(
    SCALAR,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(
            st.sampled_from(["src", "dst", "sent", "received", "vm", "count", "pairs",
                             "reachable", "observer", "members", "agent", "kv", "digest",
                             "objects", "kind", "id", "fields", "hosts", "blocked", "groups",
                             "state", "bytes", "connected", "h1", "h2", "ports", "p1"]),
            inner, max_size=6),
    ),
    max_leaves=12,
)
ANY_OPS = st.lists(
    st.tuples(
        st.floats(0, 60, allow_nan=False),
        st.one_of(st.integers(0, 4), st.just("nemesis")),
        st.sampled_from(["invoke", "ok", "fail", "info"]),
        st.sampled_from(["add", "read", "create", "update", "delete", "digest", "ping",
                         "stream", "cross-tenant", "expected", "members", "session", "state",
                         "start-partition", "stop-partition", "start-kill", "stop-kill",
                         "start-clock", "heal"]),
        VALUE,
    ),
    max_size=50,
)


@settings(max_examples=300, deadline=None)
@given(ANY_OPS)
def test_no_checker_crashes_on_random_histories(raw: list) -> None:
    ops = [Op(t, p, typ, f, v) for t, p, typ, f, v in raw]
    results = check_history(ops, ["set", "topology", "traffic", "membership", "sessions",
                                  "convergence"])
    for name, r in results["checkers"].items():
        assert "error" not in r, (name, r["error"])
        assert r["valid"] in (True, False, "unknown")
    json.dumps(results, allow_nan=False)
