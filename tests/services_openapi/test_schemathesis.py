"""The served OpenAPI document against the implementation: schemathesis generates requests
from GET /v1/openapi.json of a real meshd with the network extension and checks every
answer: no 5xx, documented status codes, content types and headers, bodies that match the
response schemas; schema-invalid requests are refused with a 4xx; schema-valid ones are
refused with a 400 only for a rule across fields that OpenAPI 3.0 cannot state (or, for a
PATCH, a declared rule whose other field the stored object supplies).

Path ids and reference fields are drawn partly from a real topology created first, so the
requests get past "no such object" into validation, creation, update, link and delete."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from services.api import openapi
from services.topology.fields import Requires
from services.topology.model import KINDS
from services.topology.store import REFERENCES
from tests.mesh_proc.harness import Meshd, stop_all

EXT = {"MESHD_EXTENSIONS": "services.extension:NetworkExtension"}
# per operation: 10 and 6 with the default profile (100 examples), ten times that with
# HYPOTHESIS_PROFILE=thorough
_BASE = settings().max_examples
EXAMPLES = {
    GenerationMode.POSITIVE: max(1, _BASE // 10),
    GenerationMode.NEGATIVE: max(1, _BASE // 16),
}
CONFORMANCE = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
DOC = openapi.document()
OPERATIONS = [
    (method.upper(), path)
    for path, item in DOC["paths"].items()
    for method in item
    if method != "parameters" and path != "/v1/openapi.json"  # schemathesis skips its source
]
# operations with some input to get wrong (a path parameter or a body)
WITH_INPUT = {
    (m, p)
    for m, p in OPERATIONS
    if "parameters" in DOC["paths"][p] or "requestBody" in DOC["paths"][p][m.lower()]
}
#: 400s a schema-valid request may get: (field, start of the message), rules across fields
CROSS_FIELD = (
    ("tenant_id", "must equal the device's tenant"),
    ("address", "only router ports have an address"),
    ("addresses", "only bridge ports have addresses"),
    ("vlan", "only bridge ports have a vlan"),
    ("binding", "a linked port cannot be bound"),
    ("binding", "an interior (peered) port cannot be bound"),
    ("peer_id", "a port cannot peer with itself"),
    ("binding", "port "),  # link: "port X is bound to a host interface"
    ("next_hop_port", "not a port of this router"),
    ("invert", "inverts "),  # declared with in_schema=False (rule.py says why)
    ("src_port", "expected [lo, hi] with 0 <= lo <= hi"),
    ("dst_port", "expected [lo, hi] with 0 <= lo <= hi"),
    ("peer_id", "cannot link two ports of one device"),
    ("peer_id", "bridges of different tenants cannot be linked"),
)
LIST_REFERENCES = {"port_group_ids", "in_port_ids", "out_port_ids"}


def _when_field(rule: Requires) -> str:
    return rule.when.field


def _decided_by_stored_object(case: Any, response: Any) -> bool:
    """A PATCH refused for a declared rule (in the schema) that the body alone does not
    decide: it leaves out one of the rule's fields, so the stored object supplies it."""
    if case.method != "PATCH" or not isinstance(case.body, dict):
        return False
    error = response.json()
    kind = case.path.split("/")[2]
    return any(
        error.get("field") == (r.report or r.field)
        and error.get("error") == r.message
        and not (_when_field(r) in case.body and r.field in case.body)
        for r in KINDS[kind].CONSTRAINTS
    )


class Api:
    """The running meshd, its schema as served, and ids of real objects per kind."""

    def __init__(self, node: Meshd) -> None:
        self.node = node
        self.base = f"http://127.0.0.1:{node.api_port}"
        self.schema = schemathesis.openapi.from_url(self.base + "/v1/openapi.json")

    def post(self, path: str, body: Any) -> dict[str, Any]:
        r = self.node.request("POST", path, json.dumps(body).encode())
        assert r.status in (200, 201), (path, r.body)
        out: dict[str, Any] = r.json()
        return out

    def ids(self) -> dict[str, list[str]]:
        out = {}
        for kind in REFERENCES:
            r = self.node.request("GET", f"/v1/{kind}")
            assert r.status == 200
            out[kind] = [o["id"] for o in r.json()]
        return out

    def seed(self) -> None:
        """A small topology with objects of every kind."""
        t = {"tenant_id": "T"}
        chain = self.post("/v1/chains", {**t, "name": "fw"})
        bridge = self.post("/v1/bridges", {**t, "name": "br", "inbound_chain_id": chain["id"]})
        router = self.post("/v1/routers", t)
        pg = self.post("/v1/port_groups", t)
        self.post("/v1/ip_address_groups", {**t, "addresses": ["10.0.0.0/24"]})
        vm = self.post(
            "/v1/ports",
            {
                **t,
                "device_id": bridge["id"],
                "addresses": ["10.0.0.5"],
                "port_group_ids": [pg["id"]],
                "binding": {"host_id": "h", "interface": "tap0"},
            },
        )
        up = self.post("/v1/ports", {**t, "device_id": bridge["id"]})
        down = self.post("/v1/ports", {**t, "device_id": router["id"], "address": "10.0.0.1/24"})
        self.post(f"/v1/ports/{down['id']}/link", {"peer_id": up["id"]})
        self.post("/v1/ports", {**t, "device_id": router["id"], "address": "10.1.0.1/24"})
        self.post("/v1/ports", {**t, "device_id": bridge["id"]})  # unlinked: link fodder
        self.post(
            "/v1/routes",
            {**t, "router_id": router["id"], "dst": "0.0.0.0/0", "next_hop_port": down["id"]},
        )
        self.post(
            "/v1/rules",
            {
                **t,
                "chain_id": chain["id"],
                "position": 1,
                "action": "accept",
                "in_port_ids": [vm["id"]],
            },
        )


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    node = Meshd("openapi", Path(tmp_path_factory.mktemp("openapi")), env=EXT)
    node.start()
    try:
        node.wait_ready()
        api = Api(node)
        api.seed()
        yield api
    finally:
        stop_all([node])


def test_served_document_is_the_generated_one(api: Api) -> None:
    assert api.node.request("GET", "/v1/openapi.json").json() == DOC
    served = {(r.ok().method.upper(), r.ok().path) for r in api.schema.get_all_operations()}
    assert served == set(OPERATIONS)


def _realistic(case: Any, data: st.DataObject, ids: dict[str, list[str]]) -> None:
    """Point the path id and some reference fields of the body at real objects."""
    kind = case.path.split("/")[2]
    params = case.path_parameters or {}
    if "id" in params and ids.get(kind) and data.draw(st.booleans(), label="real path id"):
        params["id"] = data.draw(st.sampled_from(ids[kind]), label="id")
    body = case.body
    if not isinstance(body, dict):
        return
    refs = dict(REFERENCES.get(kind, {}))
    if case.path == "/v1/trace":
        refs = {"ingress_port": ("ports",)}
    elif case.path.endswith("/link"):
        refs = {"peer_id": ("ports",)}
    for field, kinds in refs.items():
        pool = [i for k in kinds for i in ids.get(k, [])]
        if body.get(field) is None:  # absent or null stays so (null may be what a rule needs)
            continue
        if pool and data.draw(st.booleans(), label=f"real {field}"):
            value = data.draw(st.sampled_from(pool), label=field)
            body[field] = [value] if field in LIST_REFERENCES else value


def _refused_for_a_cross_field_rule(response: Any) -> bool:
    try:
        error = response.json()
    except ValueError:
        return False
    field, message = error.get("field"), str(error.get("error"))
    return any(field == f and message.startswith(m) for f, m in CROSS_FIELD)


@pytest.mark.parametrize(
    ("mode", "method", "path"),
    [(GenerationMode.POSITIVE, m, p) for m, p in OPERATIONS]
    + [(GenerationMode.NEGATIVE, m, p) for m, p in OPERATIONS if (m, p) in WITH_INPUT],
    ids=lambda v: str(v),
)
def test_operation_conforms(api: Api, mode: GenerationMode, method: str, path: str) -> None:
    ids = api.ids()
    if not all(ids.values()):  # deleted by an earlier operation's examples
        api.seed()
        ids = api.ids()
    operation = api.schema[path][method]
    checks = [*CONFORMANCE, negative_data_rejection] if mode.is_negative else CONFORMANCE

    @settings(
        max_examples=EXAMPLES[mode],
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode), data=st.data())
    def run(case: Any, data: st.DataObject) -> None:
        if mode.is_positive:
            _realistic(case, data, ids)
        response = case.call_and_validate(base_url=api.base, checks=checks)
        if mode.is_positive and response.status_code == 400:
            assert _refused_for_a_cross_field_rule(response) or _decided_by_stored_object(
                case, response
            ), (
                f"schema-valid {case.method} {case.formatted_path} refused: {response.text}"
                f" (body {json.dumps(case.body)[:500]})"
            )

    run()


def test_links_name_real_operations_and_parameters(api: Api) -> None:
    """schemathesis resolves every link of the document (operationId, parameter, body
    expression) when it builds its state machine; each becomes a transition rule.

    (No stateful run: the server's state outlives Hypothesis' test cases, which makes its
    replays flaky, and schemathesis starts no sequence at a create because it reads every
    `*_id` field, `tenant_id` included, as a reference to something else.)"""
    machine = api.schema.as_state_machine()
    rules = {name for name in dir(machine) if "___" in name}
    links = [
        (op, code, name, link["operationId"])
        for item in DOC["paths"].values()
        for op in item.values()
        if isinstance(op, dict) and "responses" in op
        for code, resp in op["responses"].items()
        for name, link in resp.get("links", {}).items()
    ]
    assert len(links) == 8 * 3 + 2 + 5  # get/update/delete per kind, link/unlink, children
    for op, code, name, target in links:
        assert any(f"___{code}_{name}__" in rule for rule in rules), (op["operationId"], name)
        assert any(
            o.get("operationId") == target
            for i in DOC["paths"].values()
            for o in i.values()
            if isinstance(o, dict)
        )
