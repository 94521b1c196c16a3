"""The /metrics exporter reads declared figures only: the core's Metrics, members by state,
the shell's errors, and any MetricsSource registered (as extensions do)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest

from mesh.api.metrics import NodeCollector
from mesh.counters import CounterDef, Counters
from mesh.metrics import DECLARED, Metrics
from tests.mesh_core.helpers import cluster, node


def _scrape(collector: NodeCollector) -> str:
    registry = CollectorRegistry()
    registry.register(collector)
    return generate_latest(registry).decode()


def test_every_declared_figure_is_exported_with_its_help() -> None:
    m = Metrics()
    m.drop("malformed")
    m.messages_out["ping"] += 3
    m.lag(0.25)
    by_name = {s.name: s for s in m.metric_samples()}
    assert [s.name for s in m.metric_samples()] == [f"mesh_{d.name}" for d in DECLARED]
    for d in DECLARED:
        assert by_name[f"mesh_{d.name}"].help == d.help
    assert by_name["mesh_drops"].values == {("malformed",): 1.0}
    assert by_name["mesh_messages_out"].labels == ("kind",)
    assert by_name["mesh_convergence_lag_last"].kind == "gauge"
    assert by_name["mesh_push_pulls"].values == {(): 0.0}


def test_node_collector_exports_core_shell_members_and_registered_sources() -> None:
    net = cluster(3, seed=5)
    net.run_until(5.0)
    a = node(net, 0)
    a.metrics.drop("stale")
    ext = Counters("agent", [CounterDef("upcalls", "Upcalls handled", ("reason",))])
    ext.inc("upcalls", 2, ("miss",))
    collector = NodeCollector(lambda: a, lambda: {"udp_error": 4})
    before = _scrape(collector)
    assert "agent_upcalls" not in before
    collector.register(ext)
    text = _scrape(collector)
    assert 'mesh_members{state="alive"} 3.0' in text
    assert 'mesh_members{state="dead"} 0.0' in text
    assert 'mesh_drops_total{reason="stale"} 1.0' in text
    assert 'mesh_shell_errors_total{reason="udp_error"} 4.0' in text
    assert 'agent_upcalls_total{reason="miss"} 2.0' in text
    assert "# HELP agent_upcalls_total Upcalls handled" in text
    assert "# TYPE mesh_convergence_lag_max gauge" in text
    sent = a.metrics.messages_out["datagram"]
    assert sent > 0
    assert f'mesh_messages_out_total{{kind="datagram"}} {float(sent)}' in text


def test_no_node_yet_exports_nothing() -> None:
    assert "mesh_" not in _scrape(NodeCollector(lambda: None, dict))
