"""The agent on the kernel backend (inside the test VM): namespaced hosts with real meshd
agents, VMs on veth ports, a virtual router between two bridges; ping and TCP across hosts
through openvswitch.ko and VXLAN; flows visible in the kernel with packet counts; a drop rule
added through the API cuts the flow (polled; the time it took is printed, not asserted)."""

from __future__ import annotations

import shutil
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from services.demo import scenario
from services.demo.netlab import Lab, cleanup_prefix, sh, tcp_transfer, wait
from services.demo.scenario import VmSpec


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Lab]:
    prefix = f"vnmk{uuid.uuid4().hex[:4]}"
    cleanup_prefix(prefix)
    lab = Lab(prefix, tmp_path, subnet=99)
    try:
        lab.create_underlay()
        yield lab
    finally:
        logs = {h.name: lab.log_tail(h, 40) for h in lab.hosts.values()}
        lab.close()
        for name, tail in logs.items():
            print(f"--- meshd {name} log tail ---\n{tail}")


def _agent(lab: Lab, host: str) -> dict[str, Any]:
    out = lab.api(lab.hosts[host], "GET", "/v1/agent")
    assert isinstance(out, dict)
    return out


def test_agents_on_the_kernel_datapath(lab: Lab) -> None:
    h1, h2 = lab.add_host("h1"), lab.add_host("h2")
    lab.start_meshd(h1, None, "kernel")
    lab.wait_ready(h1, timeout=90)
    lab.start_meshd(h2, h1, "kernel")
    lab.wait_ready(h2, timeout=90)
    assert _agent(lab, "h1")["backend"] == "kernel"
    assert _agent(lab, "h1")["datapath"] == "KernelDatapath"
    wait(lambda: len(_agent(lab, "h1")["underlay"]) == 2, 60, "membership")
    net = scenario.build(lab, h1, [VmSpec("a1", "A", "h1", 11), VmSpec("b1", "B", "h2", 21)])
    a1, b1 = net.vms["a1"], net.vms["b1"]
    for h in ("h1", "h2"):
        wait(lambda h=h: len(_agent(lab, h)["bindings"]) == 1, 60, f"{h} to bind")  # type: ignore[misc]

    wait(lambda: lab.ping(a1, b1.ip, count=1, wait_s=2), 60, "a1 to ping b1", interval=0.5)
    assert lab.ping(a1, b1.ip, count=3, wait_s=2)
    assert tcp_transfer(lab, b1, a1, size=200_000)

    # the flows live in the kernel: dumped through the datapath with packet counts
    flows = lab.api(h1, "GET", "/v1/flows")
    assert any("set(tunnel(" in f["actions"] and f["packets"] > 0 for f in flows), flows
    if shutil.which("ovs-dpctl"):
        dump = sh("ip", "netns", "exec", h1.ns, "ovs-dpctl", "dump-flows", "system@vnm0").stdout
        print(dump)
        assert "set(tunnel(" in dump and "packets:" in dump

    # a drop rule through h2's API cuts the ping
    t0 = time.monotonic()
    scenario.drop_rule(lab, h2, net, "B", proto="icmp")
    wait(lambda: not lab.ping(a1, b1.ip, count=1, wait_s=1), 30, "the rule to cut the ping")
    print(f"drop rule cut the ping after {time.monotonic() - t0:.2f} s (includes one ping)")
    assert not lab.ping(a1, b1.ip, count=2, wait_s=1)
    assert any(f["actions"] == "drop" for f in lab.api(h1, "GET", "/v1/flows"))
