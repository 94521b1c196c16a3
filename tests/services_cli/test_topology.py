"""meshctl's network commands against a real meshd: build a topology of every kind, list,
show, update, link, trace (readable and --json), unlink and delete."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

from tests.services_cli.conftest import Ctl

KINDS = (
    "bridges",
    "routers",
    "ports",
    "routes",
    "chains",
    "rules",
    "port-groups",
    "ip-address-groups",
)


def test_the_commands_come_through_the_entry_point() -> None:
    eps = {ep.name: ep.value for ep in entry_points(group="vnetmesh.meshctl")}
    assert eps.get("network") == "services.cli:register"


def test_every_kind_lists_as_a_table_and_as_json(ctl: Ctl) -> None:
    for kind in KINDS:
        assert ctl.ok(kind, "list").splitlines()[0].startswith("ID  ")
        assert isinstance(ctl(kind, "list", "--json").json(), list)


def test_build_a_topology_then_take_it_apart(ctl: Ctl) -> None:
    out = ctl.ok("bridge", "create", "--tenant-id", "acme", "--name", "br0")
    assert "name:" in out and "br0" in out and "tenant_id:" in out
    br = next(b for b in ctl("bridges", "list", "--json").json() if b["name"] == "br0")
    rt = ctl.create("router", "--tenant-id", "acme", "--name", "r1")
    binding = '{"host_id": "h1", "interface": "tap1"}'
    vm1 = ctl.create(
        "port",
        "--tenant-id=acme",
        "--name=vm1",
        f"--device-id={br['id']}",
        '--addresses=["10.0.0.5"]',
        f"--binding={binding}",
    )
    vm2 = ctl.create(
        "port",
        '{"tenant_id": "acme", "name": "vm2", "addresses": ["10.0.0.7"]}',
        "--set",
        f"device_id={br['id']}",
        "--set",
        "binding.host_id=h2",
        "--set",
        "binding.interface=tap2",
    )
    assert vm2["binding"] == {"host_id": "h2", "interface": "tap2"}
    up = ctl.create("port", "--tenant-id", "acme", "--name", "up", "--device-id", br["id"])
    down = ctl.create(
        "port",
        "--tenant-id=acme",
        "--name=down",
        f"--device-id={rt['id']}",
        "--address=10.0.0.1/24",
    )

    out = ctl.ok("port", "link", down["id"], up["id"])
    assert any(line.split() == ["peer_id:", up["id"]] for line in out.splitlines())
    assert ctl("ports", "show", up["id"], "--json").json()["peer_id"] == down["id"]

    route = ctl.create(
        "route",
        "--tenant-id=acme",
        f"--router-id={rt['id']}",
        "--dst=0.0.0.0/0",
        f"--next-hop-port={down['id']}",
        "--next-hop-gw=10.0.0.254",
    )
    assert route["type"] == "normal" and route["weight"] == 100
    chain = ctl.create("chain", "--tenant-id=acme", "--name=fw")
    rule = ctl.create(
        "rule",
        "--tenant-id=acme",
        "--name=no-http",
        f"--chain-id={chain['id']}",
        "--position=10",
        "--action=drop",
        "--proto=tcp",
        "--dst-port=[80, 80]",
    )
    assert rule["dst_port"] == [80, 80] and rule["proto"] == "tcp"
    pg = ctl.create("port-group", "--tenant-id=acme", "--name=web")
    ipg = ctl.create("ipg", "--tenant-id=acme", "--name=office", '--addresses=["192.0.2.0/24"]')

    # tables: one row per object, named columns
    table = ctl.ok("ports", "list").splitlines()
    assert table[0].split()[:4] == ["ID", "NAME", "DEVICE", "MAC"]
    assert sum(vm1["id"] in line and "vm1" in line for line in table) == 1
    assert len(table) == 1 + 4
    routes = ctl.ok("routes", "ls").splitlines()
    assert "0.0.0.0/0" in routes[1] and "10.0.0.254" in routes[1]
    rules = ctl.ok("rules", "list").splitlines()
    assert rules[0].split() == ["ID", "CHAIN", "POS", "ACTION", "JUMP", "NAME"]
    assert rules[1].split()[2:4] == ["10", "drop"]

    # show and update (PATCH: only the given fields change)
    assert "vm1" in ctl.ok("port", "show", vm1["id"])
    updated = ctl(
        "bridge", "update", br["id"], f"--inbound-chain-id={chain['id']}", "--json"
    ).json()
    assert updated["inbound_chain_id"] == chain["id"] and updated["name"] == "br0"
    ctl.ok("port", "update", vm1["id"], "--set", f'port_group_ids=["{pg["id"]}"]')
    ctl.ok("rule", "update", rule["id"], f"--ip-src-group-id={ipg['id']}")
    assert ctl("rules", "show", rule["id"], "--json").json()["ip_src_group_id"] == ipg["id"]
    ctl.ok("rule", "update", rule["id"], '{"ip_src_group_id": null}')

    # the chain drops HTTP between the VMs and lets DNS through
    packet = ["--eth-dst", vm2["mac"], "--ip-src", "10.0.0.5", "--ip-dst", "10.0.0.7"]
    http = ["--proto", "tcp", "--src-port", "40000", "--dst-port", "80"]
    out = ctl.ok("trace", "--ingress-port", vm1["id"], *packet, *http)
    lines = out.splitlines()
    assert lines[0].split() == ["#", "KIND", "DEVICE", "ACTION", "RULE", "REASON"]
    assert lines[1].split()[:4] == ["1", "port", "vm1", f"({vm1['id'][:8]})"]
    chain_line = next(line for line in lines if " chain " in line)
    assert "fw (" in chain_line and "drop" in chain_line and "no-http (" in chain_line
    assert "decision:     drop" in out and "egress ports: -" in out
    dns = ["--proto", "udp", "--src-port", "5353", "--dst-port", "53"]
    out = ctl.ok("trace", "--ingress-port", vm1["id"], *packet, *dns)
    assert "decision:     forward" in out
    assert f"egress ports: vm2 ({vm2['id'][:8]})" in out
    assert f"mac -> vm2 ({vm2['id'][:8]})" in out  # ids in reasons are named too
    assert "host/interface h2/tap2" in out
    assert f"packet out:   eth_src={vm1['mac']} eth_dst={vm2['mac']}" in out
    assert "dst_port=53" in out
    traced = ctl("trace", "--ingress-port", vm1["id"], *packet, *dns, "--json").json()
    assert traced["decision"] == "forward" and traced["egress_ports"] == [vm2["id"]]
    assert [h["kind"] for h in traced["hops"]] == ["port", "chain", "bridge", "port"]
    assert traced["packet_out"]["eth_src"] == vm1["mac"]  # defaulted to the ingress MAC

    # take it apart (referenced objects first refuse, see test_errors)
    ctl.ok("bridge", "update", br["id"], "--set", "inbound_chain_id=null")
    ctl.ok("port", "unlink", down["id"])
    assert ctl("port", "show", up["id"], "--json").json()["peer_id"] is None
    ctl.ok("port", "update", vm1["id"], "--set", "port_group_ids=[]")
    for kind, obj in [
        ("rule", rule),
        ("chain", chain),
        ("route", route),
        ("pg", pg),
        ("ipg", ipg),
        *[("port", p) for p in (vm1, vm2, up, down)],
        ("bridge", br),
        ("router", rt),
    ]:
        assert ctl.ok(kind, "delete", obj["id"]) == ""
    for kind in KINDS:
        assert ctl(kind, "list", "--json").json() == []


def test_text_fields_stay_text(ctl: Ctl) -> None:
    """`--name 2024` and `--tenant-id 1001` are strings; other options are read as JSON."""
    br = ctl.create("bridge", "--tenant-id", "1001", "--name", "2024", "--admin-state-up", "false")
    assert (br["tenant_id"], br["name"], br["admin_state_up"]) == ("1001", "2024", False)
    out = ctl(
        "bridge", "update", br["id"], "--name", "null", "--set", "admin_state_up=true", "--json"
    ).json()
    assert (out["name"], out["admin_state_up"]) == ("null", True)
    # the order: JSON object, then --FIELD options, then --set
    out = ctl("bridge", "update", br["id"], '{"name": "a"}', "--name", "b", "--json").json()
    assert out["name"] == "b"
    out = ctl("bridge", "update", br["id"], "--name", "b", "--set", "name=c", "--json").json()
    assert out["name"] == "c"
    ctl.ok("bridge", "delete", br["id"])


def test_trace_across_a_router(ctl: Ctl) -> None:
    """VM -> bridge -> router -> bridge -> VM; packet as a JSON argument and on stdin."""
    t = "--tenant-id=t2"
    b1, b2 = (ctl.create("bridge", t, f"--name=net{i}") for i in (1, 2))
    rt = ctl.create("router", t, "--name=edge")
    vm1 = ctl.create("port", t, "--name=a", f"--device-id={b1['id']}", '--addresses=["10.1.0.5"]')
    vm2 = ctl.create(
        "port",
        t,
        "--name=b",
        f"--device-id={b2['id']}",
        '--addresses=["10.2.0.5"]',
        '--binding={"host_id": "hb", "interface": "tapb"}',
    )
    for i, b in ((1, b1), (2, b2)):
        r = ctl.create(
            "port", t, f"--name=r{i}", f"--device-id={rt['id']}", f"--address=10.{i}.0.1/24"
        )
        p = ctl.create("port", t, f"--name=b{i}-up", f"--device-id={b['id']}")
        ctl.ok("port", "link", r["id"], p["id"])
        if i == 1:
            gw = r
        else:
            r2 = r
    packet = {
        "eth_dst": gw["mac"],
        "ip_src": "10.1.0.5",
        "ip_dst": "10.2.0.5",
        "proto": "icmp",
        "icmp_type": 8,
        "ttl": 64,
    }
    out = ctl.ok("trace", "--ingress-port", vm1["id"], json.dumps(packet))
    kinds = [line.split()[1] for line in out.split("\n\n")[0].splitlines()[1:]]
    assert kinds == ["port", "bridge", "port", "port", "router", "port", "port", "bridge", "port"]
    assert "edge (" in out and "decision:     forward" in out
    assert f"eth_src={r2['mac']} eth_dst={vm2['mac']}" in out and "ttl=63" in out
    via_stdin = ctl("trace", "--ingress-port", vm1["id"], "-", "--json", stdin=json.dumps(packet))
    assert via_stdin.json()["egress_ports"] == [vm2["id"]]
    # a TTL of 1 comes back as ICMP time exceeded out of the port it came in by
    out = ctl.ok("trace", "--ingress-port", vm1["id"], json.dumps(packet), "--ttl", "1")
    assert "decision:     reject" in out and "reason:       ttl expired" in out
    generated = next(line for line in out.splitlines() if line.startswith("generated:"))
    assert f"out of r1 ({gw['id'][:8]})" in generated and "icmp_type=11" in generated


def test_the_console_script(ctl: Ctl) -> None:
    """Once through the installed `meshctl` (entry point loading in a fresh process)."""
    script = Path(sys.executable).parent / "meshctl"
    done = subprocess.run(
        [str(script), "--api", ctl.api, "routers", "list", "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (done.returncode, done.stderr) == (0, "")
    assert isinstance(json.loads(done.stdout), list)
    done = subprocess.run(
        [str(script), "--api", ctl.api, "bridge", "show", "nope"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert done.stderr == "meshctl: error: no bridge nope (HTTP 404)\n"
