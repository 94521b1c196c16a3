"""Topology values: validation naming the field, dict round trips, tunnel keys, LPM."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.topology import KINDS, Cidr, ValidationError, format_ip, parse_ip, tunnel_keys
from services.topology.lpm import RouteEntry, RouteTable
from services.topology.port import Port
from services.topology.route import Route
from services.topology.rule import Rule

U = [str(uuid.UUID(int=i)) for i in range(1, 10)]

SAMPLES: dict[str, dict[str, Any]] = {
    "bridges": {"id": U[0], "tenant_id": "t", "inbound_chain_id": U[1]},
    "routers": {"id": U[0], "tenant_id": "t", "name": "r", "admin_state_up": False},
    "ports": {
        "id": U[0],
        "tenant_id": "t",
        "device_id": U[1],
        "mac": "02:00:00:00:00:0a",
        "addresses": ["10.0.0.5", "10.0.0.4"],
        "binding": {"host_id": "h1", "interface": "tap0"},
        "vlan": 10,
        "port_group_ids": [U[3], U[2]],
    },
    "routes": {
        "id": U[0],
        "tenant_id": "t",
        "router_id": U[1],
        "dst": "10.1.0.0/16",
        "next_hop_port": U[2],
        "next_hop_gw": "10.0.0.254",
        "weight": 5,
    },
    "chains": {"id": U[0], "tenant_id": "t", "name": "c"},
    "rules": {
        "id": U[0],
        "tenant_id": "t",
        "chain_id": U[1],
        "position": 3,
        "action": "jump",
        "jump_chain_id": U[2],
        "proto": "tcp",
        "dst_port": [80, 90],
        "ip_src": "10.0.0.0/8",
        "eth_dst": "02:00:00:00:00:01",
        "eth_dst_mask": "ff:ff:ff:00:00:00",
        "invert": ["ip_src"],
        "fragment_policy": "header",
    },
    "port_groups": {"id": U[0], "tenant_id": "t"},
    "ip_address_groups": {"id": U[0], "tenant_id": "t", "addresses": ["10.0.0.1", "10.2.0.0/16"]},
}


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_round_trip(kind: str) -> None:
    model = KINDS[kind]
    obj = model.from_dict(SAMPLES[kind])
    dumped = obj.to_dict()
    assert set(dumped) == set(model.field_names())
    assert model.from_dict(dumped) == obj
    assert model.from_dict(dumped).to_dict() == dumped


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_unknown_and_missing_fields_are_named(kind: str) -> None:
    model = KINDS[kind]
    with pytest.raises(ValidationError) as e:
        model.from_dict({**SAMPLES[kind], "bogus": 1})
    assert e.value.field == "bogus"
    with pytest.raises(ValidationError) as e:
        model.from_dict({k: v for k, v in SAMPLES[kind].items() if k != "tenant_id"})
    assert e.value.field == "tenant_id"


@pytest.mark.parametrize(
    ("kind", "field", "value"),
    [
        ("ports", "mac", "02:00:00:00:00"),
        ("ports", "mac", "zz:00:00:00:00:00"),
        ("ports", "addresses", ["10.0.0.256"]),
        ("ports", "device_id", "not-a-uuid"),
        ("ports", "vlan", 5000),
        ("ports", "binding", {"host_id": "h"}),
        ("routes", "dst", "10.0.0.0/33"),
        ("routes", "next_hop_gw", "10.0.0"),
        ("routes", "type", "magic"),
        ("rules", "proto", "sctp-ish"),
        ("rules", "dst_port", [90, 80]),
        ("rules", "invert", ["nonsense"]),
        ("rules", "action", "maybe"),
        ("ip_address_groups", "addresses", ["1.2.3.4/40"]),
        ("bridges", "admin_state_up", "yes"),
    ],
)
def test_malformed_values_name_the_field(kind: str, field: str, value: Any) -> None:
    with pytest.raises(ValidationError) as e:
        KINDS[kind].from_dict({**SAMPLES[kind], field: value})
    assert e.value.field.split(".")[0] == field


def test_cross_field_rules() -> None:
    with pytest.raises(ValidationError, match="next_hop_port"):
        Route.from_dict({**SAMPLES["routes"], "next_hop_port": None})
    Route.from_dict({**SAMPLES["routes"], "next_hop_port": None, "type": "blackhole"})
    with pytest.raises(ValidationError, match="jump_chain_id"):
        Rule.from_dict({**SAMPLES["rules"], "jump_chain_id": None})
    with pytest.raises(ValidationError, match="invert"):
        Rule.from_dict({**SAMPLES["rules"], "invert": ["ip_dst"]})
    with pytest.raises(ValidationError, match="binding"):
        Port.from_dict({**SAMPLES["ports"], "peer_id": U[5]})


@given(st.integers(0, 2**32 - 1), st.integers(0, 32))
def test_ip_and_cidr_text_round_trip(value: int, plen: int) -> None:
    assert parse_ip(format_ip(value)) == value
    c = Cidr(value, plen)
    assert Cidr.parse(str(c)) == c
    assert c.contains(c.network)


def test_tunnel_keys_unique_and_lowest_uuid_keeps_home() -> None:
    ids = [str(uuid.uuid4()) for _ in range(2000)]
    keys = tunnel_keys.allocate(ids)
    assert len(set(keys.values())) == len(ids)
    assert all(1 <= k <= 0xFFFFFE for k in keys.values())
    # forced collisions: ids with equal home keys (same low bits modulo the key space)
    base = uuid.UUID(int=12345)
    a = str(base)
    b = str(uuid.UUID(int=12345 + tunnel_keys.KEY_SPACE))
    c = str(uuid.UUID(int=12345 + 2 * tunnel_keys.KEY_SPACE))
    assert tunnel_keys.home_key(a) == tunnel_keys.home_key(b) == tunnel_keys.home_key(c)
    keys = tunnel_keys.allocate([c, b, a])
    home = tunnel_keys.home_key(a)
    assert keys == {a: home, b: home + 1, c: home + 2}
    assert tunnel_keys.allocate([a, b, c]) == keys  # order of input does not matter


def _entry(dst: str, src: str = "0.0.0.0/0", name: str = "r") -> RouteEntry:
    d, s = Cidr.parse(dst), Cidr.parse(src)
    return RouteEntry(
        name,
        "normal",
        Cidr(d.network, d.plen),
        Cidr(s.network, s.plen),
        "p",
        None,
        1,
        ("route", name),
    )


@given(
    st.lists(st.tuples(st.integers(0, 2**32 - 1), st.integers(0, 32)), max_size=30),
    st.integers(0, 2**32 - 1),
)
def test_lpm_agrees_with_linear_scan(prefixes: list[tuple[int, int]], dst: int) -> None:
    entries = [_entry(str(Cidr(a, p)), name=f"r{i}") for i, (a, p) in enumerate(prefixes)]
    table = RouteTable(entries)
    found = table.lookup(dst, 0)
    matching = [e for e in entries if e.dst.contains(dst)]
    if not matching:
        assert found == ()
    else:
        best = max(e.dst.plen for e in matching)
        assert {e.route_id for e in found} == {e.route_id for e in matching if e.dst.plen == best}


def test_lpm_source_prefix_breaks_ties() -> None:
    table = RouteTable(
        [_entry("10.0.0.0/8", name="any"), _entry("10.0.0.0/8", "192.168.0.0/16", name="src")]
    )
    assert [e.route_id for e in table.lookup(parse_ip("10.1.1.1"), parse_ip("192.168.1.1"))] == [
        "src"
    ]
    assert [e.route_id for e in table.lookup(parse_ip("10.1.1.1"), parse_ip("172.16.0.1"))] == [
        "any"
    ]
    assert table.uses_src
