"""Each cross-field rule a kind declares (`CONSTRAINTS`, fields.Requires) against a real
meshd: a body the served schema forbids is refused with a 400 naming the rule's field, and
the same body with the rule kept is allowed by the schema and accepted; for POST and PATCH.
(A rule declared `in_schema=False` is only described: the schema allows its broken body.)"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest

from services.topology.fields import Is, IsSet, Lists, Requires
from services.topology.model import KINDS
from services.topology.rule import CONDITION_NAMES
from tests.mesh_proc.harness import Meshd, stop_all
from tests.services_openapi.test_schemathesis import EXT, Api

RULES = [(kind, rule) for kind, cls in KINDS.items() for rule in cls.CONSTRAINTS]


def _json_schema(schema: Any, components: dict[str, Any]) -> Any:
    """OpenAPI 3.0 -> JSON Schema: `$ref` inlined, `nullable` as a null alternative."""
    if isinstance(schema, list):
        return [_json_schema(s, components) for s in schema]
    if not isinstance(schema, dict):
        return schema
    if "$ref" in schema:
        return _json_schema(components[schema["$ref"].rsplit("/", 1)[1]], components)
    out = {
        k: _json_schema(v, components)
        for k, v in schema.items()
        if k not in ("nullable", "readOnly", "example")
    }
    if schema.get("nullable"):
        return {"anyOf": [out, {"type": "null"}]}
    return out


class Served:
    """The served document's request schemas as JSON Schema validators."""

    def __init__(self, doc: dict[str, Any]) -> None:
        self.doc = doc
        self.components = doc["components"]["schemas"]

    def allows(self, method: str, kind: str, body: dict[str, Any]) -> bool:
        path = f"/v1/{kind}" if method == "post" else f"/v1/{kind}/{{id}}"
        schema = self.doc["paths"][path][method]["requestBody"]["content"]["application/json"]
        return bool(jsonschema_rs.is_valid(_json_schema(schema["schema"], self.components), body))


class World:
    """A meshd with a small topology, and a valid body of each kind with rules to check."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self.served = Served(api.node.request("GET", "/v1/openapi.json").json())
        t = {"tenant_id": "T"}
        chain = api.post("/v1/chains", t)
        self.chain = chain["id"]
        router = api.post("/v1/routers", t)
        bridge = api.post("/v1/bridges", t)
        self.router_port = api.post(
            "/v1/ports", {**t, "device_id": router["id"], "address": "10.0.0.1/24"}
        )["id"]
        self.vm = api.post("/v1/ports", {**t, "device_id": bridge["id"]})["id"]
        self.pg = api.post("/v1/port_groups", t)["id"]
        self.ipg = api.post("/v1/ip_address_groups", {**t, "addresses": ["10.0.0.0/24"]})["id"]
        self.base = {
            "routes": {**t, "router_id": router["id"], "dst": "10.9.0.0/16"},
            "rules": {**t, "chain_id": chain["id"], "position": 7, "action": "accept"},
        }

    def value(self, field: str) -> Any:
        """A valid value of a field that a rule requires set."""
        examples: dict[str, Any] = {
            "next_hop_port": self.router_port,
            "jump_chain_id": self.chain,
            "in_port_ids": [self.vm],
            "out_port_ids": [self.vm],
            "in_port_group_id": self.pg,
            "out_port_group_id": self.pg,
            "eth_src": "02:00:00:00:00:01",
            "eth_dst": "02:00:00:00:00:02",
            "eth_src_mask": "ff:ff:ff:00:00:00",
            "eth_dst_mask": "ff:ff:ff:00:00:00",
            "ethertype": 0x0800,
            "ip_src": "10.0.0.0/24",
            "ip_dst": "10.1.0.0/24",
            "ip_src_group_id": self.ipg,
            "ip_dst_group_id": self.ipg,
            "proto": "tcp",
            "src_port": [1000, 2000],
            "dst_port": [80, 80],
            "icmp_type": 8,
            "icmp_code": 0,
            "fragment_policy": "any",
        }
        return examples[field]

    def when(self, rule: Requires) -> dict[str, Any]:
        """Fields that make the rule's condition hold."""
        w = rule.when
        if isinstance(w, Is):
            return {w.field: w.values[0]}
        if isinstance(w, IsSet):
            return {w.field: self.value(w.field)}
        assert isinstance(w, Lists)
        return {w.field: [w.item]}

    def kept(self, rule: Requires) -> dict[str, Any]:
        return {rule.field: self.value(rule.field) if rule.present else None}

    def broken(self, rule: Requires) -> dict[str, Any]:
        return {rule.field: None if rule.present else self.value(rule.field)}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    node = Meshd("crossfield", Path(tmp_path_factory.mktemp("crossfield")), env=EXT)
    node.start()
    try:
        node.wait_ready()
        yield World(Api(node))
    finally:
        stop_all([node])


def _refused(world: World, method: str, path: str, body: dict[str, Any], rule: Requires) -> None:
    r = world.api.node.request(method, path, json.dumps(body).encode())
    assert r.status == 400, (method, path, body, r.body)
    assert r.json()["field"] == (rule.report or rule.field), r.body
    assert r.json()["error"] == rule.message, r.body


def _accepted(world: World, method: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    r = world.api.node.request(method, path, json.dumps(body).encode())
    assert r.status in (200, 201), (method, path, body, r.body)
    out: dict[str, Any] = r.json()
    return out


def test_every_expressible_rule_is_declared() -> None:
    """The rules the issue names are among the declared ones (so in the schema)."""
    said = {(k, r.report or r.field, r.message) for k, r in RULES}
    assert ("routes", "next_hop_port", "required for a normal route") in said
    assert ("rules", "jump_chain_id", "only a jump rule has a jump target") in said
    assert ("rules", "jump_chain_id", "required for a jump rule") in said
    assert ("rules", "eth_src_mask", "needs eth_src") in said
    inverts = [r for _, r in RULES if r.report == "invert"]
    assert len(inverts) == len(CONDITION_NAMES)
    assert [r for _, r in RULES if not r.in_schema] == inverts  # described, not in the schema


@pytest.mark.parametrize(("kind", "rule"), RULES, ids=lambda v: str(getattr(v, "message", v)))
def test_create_refused_exactly_when_the_schema_forbids(
    world: World, kind: str, rule: Requires
) -> None:
    base = world.base[kind]
    forbidden = {**base, **world.when(rule), **world.broken(rule)}
    allowed = {**base, **world.when(rule), **world.kept(rule)}
    assert world.served.allows("post", kind, forbidden) != rule.in_schema, forbidden
    assert world.served.allows("post", kind, allowed), allowed
    _refused(world, "POST", f"/v1/{kind}", forbidden, rule)
    created = _accepted(world, "POST", f"/v1/{kind}", allowed)
    assert created[rule.field] is not None if rule.present else created[rule.field] is None


def test_route_without_next_hop_port_is_refused_when_type_is_left_to_its_default(
    world: World,
) -> None:
    """type defaults to normal: no type and no next_hop_port is forbidden as well."""
    body = dict(world.base["routes"])
    assert not world.served.allows("post", "routes", body)
    _refused(world, "POST", "/v1/routes", body, KINDS["routes"].CONSTRAINTS[0])


@pytest.mark.parametrize(("kind", "rule"), RULES, ids=lambda v: str(getattr(v, "message", v)))
def test_patch_refused_exactly_when_the_schema_forbids(
    world: World, kind: str, rule: Requires
) -> None:
    """A PATCH is checked merged with the stored object: a body that sets both of a rule's
    fields inconsistently is forbidden and refused; one that sets only the condition is
    allowed by the schema (the stored object decides), and accepted on a fitting object."""
    base = world.base[kind]
    target = _accepted(
        world, "POST", f"/v1/{kind}", {**base, **world.when(rule), **world.kept(rule)}
    )
    path = f"/v1/{kind}/{target['id']}"
    forbidden = {**world.when(rule), **world.broken(rule)}
    assert world.served.allows("patch", kind, forbidden) != rule.in_schema, forbidden
    _refused(world, "PATCH", path, forbidden, rule)
    only_when = world.when(rule)
    assert world.served.allows("patch", kind, only_when)
    _accepted(world, "PATCH", path, only_when)
    allowed = {**world.when(rule), **world.kept(rule)}
    assert world.served.allows("patch", kind, allowed)
    _accepted(world, "PATCH", path, allowed)


def test_patch_of_only_the_action_depends_on_the_stored_rule(world: World) -> None:
    """PATCH {"action": "drop"}: accepted on an accept rule, refused on a jump rule (it keeps
    its jump_chain_id); the schema allows it, since the body alone does not decide."""
    assert world.served.allows("patch", "rules", {"action": "drop"})
    plain = _accepted(world, "POST", "/v1/rules", world.base["rules"])
    _accepted(world, "PATCH", f"/v1/rules/{plain['id']}", {"action": "drop"})
    jump = _accepted(
        world,
        "POST",
        "/v1/rules",
        {**world.base["rules"], "action": "jump", "jump_chain_id": world.chain},
    )
    r = world.api.node.request("PATCH", f"/v1/rules/{jump['id']}", b'{"action": "drop"}')
    assert r.status == 400 and r.json()["field"] == "jump_chain_id", r.body
    _accepted(world, "PATCH", f"/v1/rules/{jump['id']}", {"action": "drop", "jump_chain_id": None})
