"""The network extension inside real meshd processes: API writes replicate, trace anywhere."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.mesh_proc.harness import Meshd, stop_all, wait_until

EXT = {"MESHD_EXTENSIONS": "services.extension:NetworkExtension"}


def _post(node: Meshd, path: str, body: Any, status: int = 201) -> Any:
    r = node.request("POST", path, json.dumps(body).encode())
    assert r.status == status, r.body
    return r.json()


def test_topology_replicates_and_traces_on_every_host(tmp_path: Path) -> None:
    a = Meshd("net-a", tmp_path, env=EXT)
    b = Meshd("net-b", tmp_path, env=EXT)
    nodes = [a.start()]
    try:
        a.wait_ready()
        b.seeds = [a.gossip_port]
        nodes.append(b.start())
        b.wait_ready()
        assert a.request("GET", "/v1/openapi.json").status == 200
        br = _post(a, "/v1/bridges", {"tenant_id": "A"})
        vm1 = _post(
            a,
            "/v1/ports",
            {
                "tenant_id": "A",
                "device_id": br["id"],
                "addresses": ["10.0.0.5"],
                "binding": {"host_id": "net-a", "interface": "tap1"},
            },
        )
        # the bridge created on a reaches b, where the second port is created
        wait_until(lambda: b.request("GET", f"/v1/bridges/{br['id']}").status == 200)
        vm2 = _post(
            b,
            "/v1/ports",
            {
                "tenant_id": "A",
                "device_id": br["id"],
                "addresses": ["10.0.0.7"],
                "binding": {"host_id": "net-b", "interface": "tap2"},
            },
        )
        wait_until(lambda: len(a.request("GET", "/v1/ports").json()) == 2)
        packet = {
            "eth_src": vm1["mac"],
            "eth_dst": vm2["mac"],
            "ip_src": "10.0.0.5",
            "ip_dst": "10.0.0.7",
            "proto": "udp",
            "src_port": 5000,
            "dst_port": 53,
        }
        for node in nodes:
            out = _post(node, "/v1/trace", {"ingress_port": vm1["id"], "packet": packet}, 200)
            assert out["decision"] == "forward"
            assert out["egress_ports"] == [vm2["id"]]
            assert out["egress"][0]["host_id"] == "net-b"
        # a delete on one host is seen on the other; referenced objects are refused
        assert b.request("DELETE", f"/v1/bridges/{br['id']}").status == 409
        assert b.request("DELETE", f"/v1/ports/{vm2['id']}").status == 204
        wait_until(lambda: a.request("GET", f"/v1/ports/{vm2['id']}").status == 404)
        out = _post(a, "/v1/trace", {"ingress_port": vm1["id"], "packet": packet}, 200)
        assert out["decision"] == "drop"  # flooded to no other port
    finally:
        stop_all(nodes)
