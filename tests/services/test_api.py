"""The topology HTTP API in process (aiohttp test server over in-memory tables)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from services.api import openapi
from services.api.routes import add_routes
from services.simulation.learned import new_state_table
from services.simulation.stateview import TableStateView, state_from_values
from services.topology import tables as T
from services.topology.memtable import MemoryTable
from services.topology.model import KINDS
from services.topology.store import TopologyStore


@pytest.fixture
async def client() -> AsyncIterator[TestClient[Any, Any]]:
    tables = {kind: MemoryTable(T.new_table, "api") for kind in KINDS}
    store = TopologyStore(tables, clock=lambda: 0.0)
    state = TableStateView(MemoryTable(new_state_table), MemoryTable(new_state_table))
    app = web.Application()
    add_routes(app, store, state.view)
    async with TestClient(TestServer(app)) as c:
        yield c


async def _post(c: TestClient[Any, Any], path: str, body: Any, status: int = 201) -> Any:
    r = await c.post(path, json=body)
    data = await r.json()
    assert r.status == status, data
    return data


async def _tenant_net(c: TestClient[Any, Any]) -> dict[str, Any]:
    br = await _post(c, "/v1/bridges", {"tenant_id": "A", "name": "net"})
    rt = await _post(c, "/v1/routers", {"tenant_id": "A"})
    vm1 = await _post(
        c,
        "/v1/ports",
        {
            "tenant_id": "A",
            "device_id": br["id"],
            "addresses": ["10.0.0.5"],
            "binding": {"host_id": "h1", "interface": "tap1"},
        },
    )
    vm2 = await _post(
        c,
        "/v1/ports",
        {
            "tenant_id": "A",
            "device_id": br["id"],
            "mac": "02:00:00:00:00:07",
            "addresses": ["10.0.0.7"],
            "binding": {"host_id": "h2", "interface": "tap2"},
        },
    )
    rp = await _post(
        c, "/v1/ports", {"tenant_id": "A", "device_id": rt["id"], "address": "10.0.0.1/24"}
    )
    bp = await _post(c, "/v1/ports", {"tenant_id": "A", "device_id": br["id"]})
    r = await c.post(f"/v1/ports/{rp['id']}/link", json={"peer_id": bp["id"]})
    assert r.status == 200, await r.json()
    return {"br": br, "rt": rt, "vm1": vm1, "vm2": vm2, "rp": rp, "bp": bp}


async def test_crud_round_trip(client: TestClient[Any, Any]) -> None:
    net = await _tenant_net(client)
    r = await client.get("/v1/bridges")
    assert [b["id"] for b in await r.json()] == [net["br"]["id"]]
    r = await client.get(f"/v1/ports/{net['vm1']['id']}")
    port = await r.json()
    assert port["addresses"] == ["10.0.0.5"] and re.fullmatch(
        r"([0-9a-f]{2}:){5}[0-9a-f]{2}", port["mac"]
    )
    assert isinstance(port["tunnel_key"], int) and port["tunnel_key"] > 0
    r = await client.get(f"/v1/ports/{net['rp']['id']}")
    assert (await r.json())["peer_id"] == net["bp"]["id"]
    r = await client.patch(f"/v1/bridges/{net['br']['id']}", json={"name": "renamed"})
    assert r.status == 200 and (await r.json())["name"] == "renamed"
    r = await client.get(f"/v1/bridges/{net['br']['id']}")
    assert (await r.json())["name"] == "renamed"
    chain = await _post(client, "/v1/chains", {"tenant_id": "A"})
    rule = await _post(
        client,
        "/v1/rules",
        {
            "tenant_id": "A",
            "chain_id": chain["id"],
            "position": 1,
            "action": "drop",
            "proto": "tcp",
            "dst_port": [22, 22],
        },
    )
    assert rule["proto"] == "tcp" and rule["dst_port"] == [22, 22]
    r = await client.delete(f"/v1/rules/{rule['id']}")
    assert r.status == 204
    r = await client.get(f"/v1/rules/{rule['id']}")
    assert r.status == 404


@pytest.mark.parametrize(
    ("path", "body", "status", "field"),
    [
        ("/v1/bridges", {"tenant_id": "A", "colour": "red"}, 400, "colour"),
        ("/v1/bridges", {"name": "x"}, 400, "tenant_id"),
        ("/v1/bridges", {"tenant_id": "A", "id": "x"}, 400, "id"),
        ("/v1/bridges", ["not", "an", "object"], 400, "body"),
        (
            "/v1/bridges",
            {"tenant_id": "A", "inbound_chain_id": "00000000-0000-0000-0000-000000000009"},
            404,
            "inbound_chain_id",
        ),
        (
            "/v1/ports",
            {"tenant_id": "A", "device_id": "00000000-0000-0000-0000-000000000009"},
            404,
            "device_id",
        ),
        (
            "/v1/routes",
            {
                "tenant_id": "A",
                "router_id": "00000000-0000-0000-0000-000000000009",
                "dst": "10.0.0.0/8",
                "type": "blackhole",
            },
            404,
            "router_id",
        ),
        (
            "/v1/routes",
            {
                "tenant_id": "A",
                "router_id": "00000000-0000-0000-0000-000000000009",
                "dst": "10.0.0.0/33",
            },
            400,
            "dst",
        ),
        ("/v1/ip_address_groups", {"tenant_id": "A", "addresses": ["300.1.1.1"]}, 400, "addresses"),
    ],
)
async def test_bad_input_names_the_field(
    client: TestClient[Any, Any], path: str, body: Any, status: int, field: str
) -> None:
    r = await client.post(path, json=body)
    data = await r.json()
    assert r.status == status, data
    assert data["field"] == field


async def test_semantic_checks_and_conflicts(client: TestClient[Any, Any]) -> None:
    net = await _tenant_net(client)
    br, rt = net["br"]["id"], net["rt"]["id"]
    data = await _post(client, "/v1/ports", {"tenant_id": "B", "device_id": br}, 400)
    assert data["field"] == "tenant_id"
    data = await _post(
        client, "/v1/ports", {"tenant_id": "A", "device_id": br, "address": "1.2.3.4/24"}, 400
    )
    assert data["field"] == "address"
    data = await _post(client, "/v1/ports", {"tenant_id": "A", "device_id": rt, "mac": "zz"}, 400)
    assert data["field"] == "mac"
    data = await _post(
        client,
        "/v1/routes",
        {"tenant_id": "A", "router_id": rt, "dst": "0.0.0.0/0", "next_hop_port": net["vm1"]["id"]},
        400,
    )
    assert data["field"] == "next_hop_port"
    # referenced objects cannot go
    for path in (f"/v1/bridges/{br}", f"/v1/ports/{net['rp']['id']}"):
        r = await client.delete(path)
        assert r.status == 409, await r.json()
    r = await client.patch(f"/v1/ports/{net['vm1']['id']}", json={"peer_id": net["vm2"]["id"]})
    assert r.status == 400 and (await r.json())["field"] == "peer_id"
    r = await client.patch(f"/v1/ports/{net['vm1']['id']}", json={"vlan": 99999})
    assert r.status == 400 and (await r.json())["field"] == "vlan"
    # linking: bound ports and already linked ports are refused
    r = await client.post(f"/v1/ports/{net['vm1']['id']}/link", json={"peer_id": net["rp"]["id"]})
    assert r.status in (400, 409)
    r = await client.post(f"/v1/ports/{net['rp']['id']}/unlink")
    assert r.status == 200 and (await r.json())["peer_id"] is None
    r = await client.get(f"/v1/ports/{net['bp']['id']}")
    assert (await r.json())["peer_id"] is None
    assert (await client.delete(f"/v1/ports/{net['bp']['id']}")).status == 204
    r = await client.get("/v1/nothing")
    assert r.status == 404
    r = await client.post("/v1/bridges", data=b"{not json")
    assert r.status == 400 and (await r.json())["field"] == "body"


async def test_trace(client: TestClient[Any, Any]) -> None:
    net = await _tenant_net(client)
    vm1 = net["vm1"]
    body = {
        "ingress_port": vm1["id"],
        "packet": {
            "eth_src": vm1["mac"],
            "eth_dst": "02:00:00:00:00:07",
            "ip_src": "10.0.0.5",
            "ip_dst": "10.0.0.7",
            "proto": "tcp",
            "ttl": 64,
            "src_port": 4000,
            "dst_port": 80,
        },
    }
    r = await client.post("/v1/trace", json=body)
    out = await r.json()
    assert r.status == 200, out
    assert out["decision"] == "forward"
    assert out["egress_ports"] == [net["vm2"]["id"]]
    assert out["packet_out"]["ip_dst"] == "10.0.0.7"
    assert [h["kind"] for h in out["hops"]] == ["port", "bridge", "port"]
    # ARP for the router's address is answered locally
    arp = {
        "eth_src": vm1["mac"],
        "eth_dst": "ff:ff:ff:ff:ff:ff",
        "ethertype": 0x0806,
        "arp_op": 1,
        "arp_sha": vm1["mac"],
        "arp_spa": "10.0.0.5",
        "arp_tpa": "10.0.0.1",
    }
    r = await client.post("/v1/trace", json={"ingress_port": vm1["id"], "packet": arp})
    out = await r.json()
    assert (
        out["decision"] == "consumed"
        and out["generated"][0]["packet"]["arp_sha"] == net["rp"]["mac"]
    )
    r = await client.post("/v1/trace", json={"ingress_port": vm1["id"], "packet": {"eth_src": "x"}})
    assert r.status == 400 and (await r.json())["field"] == "packet.eth_src"
    r = await client.post("/v1/trace", json={"ingress_port": net["br"]["id"], "packet": arp})
    assert r.status == 404 and (await r.json())["field"] == "ingress_port"


async def test_openapi_matches_the_routes(client: TestClient[Any, Any]) -> None:
    r = await client.get("/v1/openapi.json")
    doc = await r.json()
    assert doc == openapi.document()
    served = set()
    for route in client.app.router.routes():
        info = route.resource.get_info() if route.resource is not None else {}
        path = info.get("path") or info.get("formatter")
        if route.method != "HEAD":
            served.add((path, route.method.lower()))
    documented = {
        (path, method)
        for path, item in doc["paths"].items()
        for method in item
        if method != "parameters"
    }
    assert served == documented
    for kind, model in KINDS.items():
        schema = doc["components"]["schemas"][kind]
        assert set(model.field_names()) <= set(schema["properties"])


async def test_trace_reads_the_replicated_mac_table() -> None:
    from crdt import decode, encode

    tables = {kind: MemoryTable(T.new_table, "api") for kind in KINDS}
    store = TopologyStore(tables, clock=lambda: 0.0)
    macs, arps = MemoryTable(new_state_table), MemoryTable(new_state_table)
    state = TableStateView(macs, arps)
    app = web.Application()
    add_routes(app, store, state.view)
    async with TestClient(TestServer(app)) as c:
        net = await _tenant_net(c)
        br, vm1, vm2 = net["br"]["id"], net["vm1"], net["vm2"]
        roaming = 0x02AB00000001
        macs.mutate(
            lambda s: s.update(
                "h2",
                (br, 0, roaming),
                lambda r: r.assign("h2", {"port_id": vm2["id"], "host_id": "h2"}),
            ),
            now=0.0,
        )
        macs.mutate(  # ignored
            lambda s: s.update("h2", "junk", lambda r: r.assign("h2", 5)), now=0.0
        )
        # the state survives the codec with its tuple keys
        assert decode(encode(macs.state)) == macs.state
        assert (
            state_from_values(decode(encode(macs.state)).value(), {}).mac_port(br, 0, roaming)
            == vm2["id"]
        )
        body = {
            "ingress_port": vm1["id"],
            "packet": {"eth_src": vm1["mac"], "eth_dst": "02:ab:00:00:00:01"},
        }
        out = await (await c.post("/v1/trace", json=body)).json()
        assert out["decision"] == "forward" and out["egress_ports"] == [vm2["id"]]
