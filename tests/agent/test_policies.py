"""The packet path's pure policies on their own: holding on ARP (coalescing, retry per bound,
abandon, forgetting attempts), bindings, pending changes, invalidation races, config."""

from __future__ import annotations

import pytest

from mesh.counters import Counters
from services.agent.arp_policy import ArpConfig, ArpPolicy, Waiting, WithAttempts
from services.agent.bindings import BindingTable, Wanted, wanted
from services.agent.changes import PendingChanges
from services.agent.config import AgentConfig, agent_config
from services.agent.counters import DEFS, new_counters
from services.agent.races import InvalidationLog
from services.simulation import DictStateView
from services.simulation.invalidation import arp_entry_tags, mac_entry_tags
from services.topology.builder import TopologyBuilder

HOP = ("r", 9)


def _policy(cfg: ArpConfig | None = None) -> tuple[ArpPolicy[str], Counters]:
    counters = new_counters()
    return ArpPolicy(cfg or ArpConfig(), counters), counters


def test_first_needs_arp_counts_an_attempt_later_ones_coalesce() -> None:
    p, c = _policy()
    assert p.needs_arp(HOP, "a", 0, 0.0) is False  # sends the ARP request
    assert p.needs_arp(HOP, "b", 0, 0.1) is True  # waits with it
    assert p.attempts(HOP) == 1 and len(p) == 2
    assert c["arp_wait_coalesced"] == 1 and c["arp_wait_held"] == 2
    assert [w.item for w in p.resolved(HOP)] == ["a", "b"]
    assert c["arp_wait_resolved"] == 2 and len(p) == 0
    assert p.attempts(HOP) == 1  # resolved by us: the table's change resets it later


def test_learned_forgets_the_attempts() -> None:
    p, _ = _policy()
    p.needs_arp(HOP, "a", 0, 0.0)
    assert [w.holds for w in p.learned(HOP)] == [1]
    assert p.attempts(HOP) == 0


def test_expiry_retries_the_oldest_and_holds_the_others_again_in_order() -> None:
    p, c = _policy(ArpConfig(hold=1.0))
    for i, item in enumerate("abc"):
        p.needs_arp(HOP, item, 0, i * 0.01)
    retry = p.expire(1.5)
    assert retry == [Waiting("a", 1)]
    assert c["arp_wait_expired"] == 3 and c["arp_wait_retried"] == 1
    # the retried packet comes back through needs_arp (held once more, at the front)
    p.needs_arp(HOP, "a", 1, 1.5)
    assert p.attempts(HOP) == 2
    assert [(w.item, w.holds) for w in p.resolved(HOP)] == [("a", 2), ("b", 2), ("c", 2)]


def test_after_the_last_attempt_every_held_packet_is_retried() -> None:
    p, c = _policy(ArpConfig(hold=1.0))
    for n in range(3):
        p.needs_arp(HOP, "a", 0 if n == 0 else 1, 0.0)
    p.needs_arp(HOP, "b", 0, 0.0)
    assert p.attempts(HOP) == 3
    assert [w.item for w in p.expire(2.0)] == ["a", "a", "a", "b"]
    assert len(p) == 0 and c["arp_wait_retried"] == 4


def test_a_packet_held_max_holds_times_is_abandoned() -> None:
    p, c = _policy(ArpConfig(max_holds=2))
    p.needs_arp(HOP, "a", 2, 0.0)
    assert len(p) == 0 and c["arp_wait_abandoned"] == 1


def test_old_attempts_are_forgotten_and_the_view_reads_them() -> None:
    p, _ = _policy(ArpConfig(forget=10.0))
    p.needs_arp(HOP, "a", 0, 0.0)
    view = WithAttempts(DictStateView(), p)
    assert view.arp_attempts("r", 9) == 1 and view.arp_mac("r", 9) is None
    p.expire(5.0)
    assert p.attempts(HOP) == 1
    p.expire(10.5)
    assert p.attempts(HOP) == 0
    p.needs_arp(HOP, "b", 0, 11.0)
    p.forget_attempts()
    assert p.attempts(HOP) == 0


def test_bindings_wanted_stale_conflicts_and_tunnel_keys() -> None:
    b = TopologyBuilder("bt")
    br = b.bridge("A")
    p1 = b.port(br, binding={"host_id": "h1", "interface": "t1"})
    p2 = b.port(br, binding={"host_id": "h2", "interface": "t2"})
    topo = b.build()
    want = wanted(topo, "h1")
    assert want == {p1: Wanted("t1", topo.tunnel_keys.get(p1, 0))}
    assert p2 not in want
    t = BindingTable()
    bound = t.add(p1, "t1", 5)
    assert t.port_at(5) == p1 and t.interface_taken("t1") and not t.interface_taken("t9")
    assert t.stale(want) == []
    assert t.stale({p1: Wanted("t9", 0)}) == [bound]
    t.retunnel(p1, 77, register=True)
    t.add_tunnel_flow(p1, b"u1")
    got = t.port_with_key(77)
    assert got is not None and got.tunnel_flows == (b"u1",) and got.port_no == 5
    assert t.tunnel_flow_owners() == {b"u1": p1}
    assert t.retunnel(p1, 78, register=False).tunnel_flows == ()
    assert t.port_with_key(77) is None and t.port_with_key(78) is None
    t.remove(t.by_id()[p1])
    assert len(t) == 0 and t.port_at(5) is None


def test_pending_changes_collect_tags_and_clear_on_take() -> None:
    ch = PendingChanges()
    ch.macs([("br", 0, 1), "bad key", ("short",)])
    hops = ch.arps([("r", 9), ("bad",)])
    assert hops == [("r", 9)]
    ch.topology()
    tags, dirty = ch.take()
    assert dirty and tags == mac_entry_tags("br", 1) | arp_entry_tags("r", 9)
    assert ch.take() == (set(), False)


def test_a_flow_computed_across_an_invalidation_of_its_tags_raced() -> None:
    log = InvalidationLog()
    gen = log.generation
    tag = ("port", "p1")
    assert not log.raced(gen, frozenset({tag}))
    log.invalidated(frozenset({("port", "p2")}))
    assert not log.raced(gen, frozenset({tag}))  # another tag
    log.invalidated(frozenset({tag}))
    assert log.raced(gen, frozenset({tag}))
    assert not log.raced(log.generation, frozenset({tag}))  # computed after it


def test_config_defaults_keys_and_bad_values() -> None:
    assert agent_config({}) == AgentConfig()
    cfg = agent_config({"max_flows": "50", "upcall_queue": 8, "mac_prune_interval": 2})
    assert cfg.path().max_flows == 50 and cfg.path().queue_size == 8
    assert cfg.mac_prune_interval == 2.0
    with pytest.raises(ValueError, match="max_flows"):
        agent_config({"max_flows": "many"})
    with pytest.raises(ValueError, match="mac_prune_interval"):
        agent_config({"mac_prune_interval": [1]})


def test_counters_are_declared_once_and_exported() -> None:
    c = new_counters()
    c.inc("upcalls", 3)
    with pytest.raises(KeyError):
        c.inc("upcals")  # a typo is a bug, not a new counter
    samples = {s.name: s for s in c.metric_samples()}
    assert len(samples) == len(DEFS)
    assert samples["agent_upcalls"].values == {(): 3}
    assert all(s.help for s in samples.values())
