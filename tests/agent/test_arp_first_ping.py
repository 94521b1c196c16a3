"""Two namespaced hosts with real meshd agents: the first ping to a VM whose address the
topology does not know (so the router must ARP for it) is held while the agent ARPs, and
answered once the reply is learned on the other host and replicated back."""

from __future__ import annotations

from typing import Any

from services.demo import scenario
from services.demo.netlab import Lab, wait
from services.demo.scenario import TENANTS, VmSpec


def _agent(lab: Lab, host: str) -> dict[str, Any]:
    out = lab.api(lab.hosts[host], "GET", "/v1/agent")
    assert isinstance(out, dict)
    return out


def test_first_ping_to_a_next_hop_needing_arp_is_answered(lab: Lab) -> None:
    h1 = lab.add_host("h1")
    h2 = lab.add_host("h2")
    lab.start_meshd(h1, None)
    lab.wait_ready(h1)
    lab.start_meshd(h2, h1)
    lab.wait_ready(h2)
    wait(lambda: len(_agent(lab, "h1")["underlay"]) == 2, 20, "h1 to see h2")
    net = scenario.build(lab, h1, [VmSpec("a1", "A", "h1", 11), VmSpec("b1", "B", "h2", 21)])
    a1, b1 = net.vms["a1"], net.vms["b1"]
    # c1 on h2: its port has no address, so the router has to ARP for 10.0.2.31
    c = VmSpec("c1", "B", "h2", 31)
    c1 = lab.add_vm(c.name, h2, c.mac, c.ip, 24, f"10.0.{TENANTS['B']}.1")
    body = {
        "tenant_id": "B",
        "device_id": net.ids["bridgeB"],
        "mac": c.mac,
        "addresses": [],
        "binding": {"host_id": "h2", "interface": c1.interface},
    }
    lab.api(h1, "POST", "/v1/ports", body)
    wait(lambda: len(_agent(lab, "h2")["bindings"]) == 2, 20, "h2 to bind b1 and c1")
    wait(lambda: len(_agent(lab, "h1")["bindings"]) == 1, 20, "h1 to bind a1")
    # the routed path across hosts is up (b1's address is known: no ARP by the router)
    wait(lambda: lab.ping(a1, b1.ip, count=1), 20, "a1 to ping b1", interval=0.2)
    held = _agent(lab, "h1")["counters"].get("arp_wait_held", 0)
    assert held == 0

    out = lab.vm_exec(a1, "ping", "-c", "1", "-W", "3", c1.ip)
    assert out.returncode == 0, out.stdout + out.stderr
    counters = _agent(lab, "h1")["counters"]
    assert counters.get("arp_wait_held", 0) >= 1, counters  # it did wait on ARP
    assert counters.get("arp_wait_resolved", 0) >= 1, counters
    assert counters.get("arp_wait_abandoned", 0) == 0, counters
