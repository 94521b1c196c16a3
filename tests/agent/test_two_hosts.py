"""Two namespaced hosts with real meshd agents on the userspace datapath: VMs ping across
hosts through a virtual router; flows are visible, expire by tag, and a drop rule cuts them."""

from __future__ import annotations

import sys
import urllib.request
from pathlib import Path
from typing import Any

from datapath.netns import in_netns
from services.demo import scenario
from services.demo.netlab import Lab, sh, tcp_transfer, wait
from services.demo.scenario import VmSpec


def _flows(lab: Lab, host: str) -> list[dict[str, Any]]:
    out = lab.api(lab.hosts[host], "GET", "/v1/flows")
    assert isinstance(out, list)
    return out


def _agent(lab: Lab, host: str) -> dict[str, Any]:
    out = lab.api(lab.hosts[host], "GET", "/v1/agent")
    assert isinstance(out, dict)
    return out


def _metric(lab: Lab, host: str, name: str) -> float:
    """One unlabelled sample of GET /metrics (Prometheus text)."""
    with in_netns(lab.ul), urllib.request.urlopen(lab.hosts[host].api + "/metrics", timeout=5) as r:
        text = r.read().decode()
    values = [float(line.split()[1]) for line in text.splitlines() if line.split(" ")[0] == name]
    assert len(values) == 1, f"{name} not exported once:\n{text}"
    return values[0]


def test_ping_and_tcp_across_hosts_flows_and_drop_rule(lab: Lab) -> None:
    h1 = lab.add_host("h1")
    h2 = lab.add_host("h2")
    lab.start_meshd(h1, None)
    lab.wait_ready(h1)
    lab.start_meshd(h2, h1)
    lab.wait_ready(h2)
    wait(lambda: len(_agent(lab, "h1")["underlay"]) == 2, 20, "h1 to see h2")
    specs = [VmSpec("a1", "A", "h1", 11), VmSpec("b1", "B", "h2", 21)]
    net = scenario.build(lab, h1, specs)
    a1, b1 = net.vms["a1"], net.vms["b1"]
    # the topology written on h1 reaches h2, which binds b1's interface
    wait(lambda: len(_agent(lab, "h2")["bindings"]) == 1, 20, "h2 to bind b1")
    wait(lambda: len(_agent(lab, "h1")["bindings"]) == 1, 20, "h1 to bind a1")

    # routed ping across hosts (ARP for the gateway answered by the agent)
    wait(lambda: lab.ping(a1, b1.ip, count=1), 20, "a1 to ping b1", interval=0.2)
    assert lab.ping(a1, b1.ip, count=3)
    neigh = lab.vm_exec(a1, "ip", "neigh", "show", "10.0.1.1").stdout
    assert "lladdr" in neigh  # the agent answered a1's ARP for its gateway
    assert _agent(lab, "h1")["counters"].get("generated_sent", 0) >= 1
    # the same declared counters at /metrics
    assert _metric(lab, "h1", "agent_generated_sent_total") >= 1

    # no route to 10.9.9.9: the router's ICMP net unreachable comes back (agent-generated)
    out = lab.vm_exec(a1, "ping", "-c", "1", "-W", "2", "10.9.9.9")
    assert "Unreachable" in out.stdout, out.stdout

    # the flows are installed and counted: h1 tunnels to h2, h2 has the return flow
    flows1 = _flows(lab, "h1")
    tunneled = [f for f in flows1 if "set(tunnel(" in f["actions"] and f["packets"] > 0]
    assert tunneled, flows1
    assert any("ipv4(" in f["match"] for f in tunneled)
    assert any(f.get("summary", "").startswith("tunnel egress") for f in _flows(lab, "h2"))

    # meshctl prints the same flows (run in the underlay namespace, where the API is)
    meshctl = str(Path(sys.executable).with_name("meshctl"))
    out = sh("ip", "netns", "exec", lab.ul, meshctl, "--api", f"{h1.underlay}:8080", "flows")
    assert "set(tunnel(" in out.stdout and "MATCH" in out.stdout

    # a TCP transfer through the same path
    assert tcp_transfer(lab, b1, a1, size=300_000)

    # a drop rule added through h2's API cuts the ping: flows carrying the chain's tags go
    before = _agent(lab, "h1")["counters"].get("flows_invalidated", 0)
    scenario.drop_rule(lab, h2, net, "B", proto="icmp")
    wait(lambda: not lab.ping(a1, b1.ip, count=1, wait_s=0.5), 20, "the drop rule to apply")
    assert _agent(lab, "h1")["counters"].get("flows_invalidated", 0) > before
    assert not lab.ping(a1, b1.ip, count=2, wait_s=0.5)
    # TCP is not matched by the rule and still passes
    assert tcp_transfer(lab, b1, a1, port=5002, size=20_000)
    drops = [f for f in _flows(lab, "h1") if f["actions"] == "drop"]
    assert drops, "the blocked ping should have an installed drop flow"
