"""The OpenAPI 3 document of the topology API. Each kind's schema comes from its declared
fields (services/topology/fields.py): the same declarations the store validates with."""

from __future__ import annotations

from typing import Any

from services.simulation.packet import FIELD_NAMES
from services.topology.fields import (
    IP_SCHEMA,
    MAC_SCHEMA,
    PROTO_SCHEMA,
    UUID_SCHEMA,
    FieldSpec,
    Is,
    IsSet,
    Lists,
    Requires,
)
from services.topology.model import KINDS

_UUID = dict(UUID_SCHEMA)
_MAC = dict(MAC_SCHEMA)
_IP = dict(IP_SCHEMA)
_PROTO = dict(PROTO_SCHEMA)


def field_schema(kind: str, name: str) -> dict[str, Any]:
    """The schema of one declared field of a kind."""
    for spec in KINDS[kind].spec():
        if spec.name == name:
            return spec.schema()
    raise KeyError(f"{kind} has no field {name!r}")


#: rules across fields that a JSON schema cannot say (they depend on other objects or
#: compare values); the API answers 400. The others are in the schema (`_constraint`).
_CROSS_FIELD = {
    "ports": "A port has its device's tenant; only router ports have an address, only bridge "
    "ports addresses and vlan; a linked port cannot be bound.",
    "routes": "next_hop_port is a port of the route's router.",
    "rules": "invert names only conditions that are set; src_port and dst_port ranges have "
    "lo <= hi.",
}

#: absent or null (OpenAPI 3.0 spells "null only" as a nullable enum of null)
_NULL: dict[str, Any] = {"nullable": True, "enum": [None]}


def _set(spec: FieldSpec) -> dict[str, Any]:
    """The schema of a set (non-null) value of a field."""
    return {k: v for k, v in spec.schema().items() if k != "nullable"}


def _constraint(specs: dict[str, FieldSpec], rule: Requires, patch: bool) -> dict[str, Any]:
    """One declared cross-field rule (fields.Requires) as `anyOf: [when fails, then holds]`.

    For a PATCH the server checks the body merged with the stored object, so a field the
    body leaves out may hold anything: only what the body's own fields decide is refused."""
    when, target = rule.when, specs[rule.field]
    if isinstance(when, Is):
        others = [v for v in specs[when.field].schema()["enum"] if v not in when.values]
        fails: dict[str, Any] = {"properties": {when.field: {"type": "string", "enum": others}}}
        if not patch and specs[when.field].default in when.values:
            fails["required"] = [when.field]  # absent means the default, which holds
    elif isinstance(when, IsSet):
        fails = {"properties": {when.field: _NULL}}
    else:
        assert isinstance(when, Lists)
        fails = {"properties": {when.field: {"items": {"not": {"enum": [when.item]}}}}}
    then: dict[str, Any] = {"properties": {rule.field: _set(target) if rule.present else _NULL}}
    if rule.present and not patch:
        then["required"] = [rule.field]
    return {"anyOf": [fails, then], "description": f"{rule.report or rule.field}: {rule.message}"}


def _constraints(kind: str, patch: bool) -> dict[str, Any]:
    """`allOf` of the kind's declared cross-field rules (empty when it has none)."""
    cls = KINDS[kind]
    specs = {s.name: s for s in cls.spec()}
    rules = [_constraint(specs, r, patch) for r in cls.CONSTRAINTS if r.in_schema]
    return {"allOf": rules} if rules else {}


_ERROR = {
    "description": "error",
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "properties": {"error": {"type": "string"}, "field": {"type": "string"}},
            }
        }
    },
}


def _schema(kind: str) -> dict[str, Any]:
    specs = KINDS[kind].spec()
    props = {s.name: s.schema() for s in specs}
    if kind == "ports":
        props["tunnel_key"] = {"type": "integer", "readOnly": True}
    required = [s.name for s in specs if s.required and s.read_only is None]
    out: dict[str, Any] = {
        "type": "object",
        "properties": props,
        "required": required,
        "additionalProperties": False,
    }
    out.update(_constraints(kind, patch=False))
    if kind in _CROSS_FIELD:
        out["description"] = _CROSS_FIELD[kind]
    return out


def _patch_schema(kind: str) -> dict[str, Any]:
    """A PATCH body: any writable fields of the kind (read-only ones are refused)."""
    props = _schema(kind)["properties"]
    return {
        "type": "object",
        "properties": {k: v for k, v in props.items() if not v.get("readOnly")},
        "additionalProperties": False,
        **_constraints(kind, patch=True),
    }


def _int(lo: int, hi: int) -> dict[str, Any]:
    return {"type": "integer", "minimum": lo, "maximum": hi}


#: the trace packet's fields in their text forms (services.simulation.packet)
PACKET_SCHEMAS: dict[str, dict[str, Any]] = {
    **{k: _MAC for k in ("eth_src", "eth_dst", "arp_sha", "arp_tha")},
    **{k: _IP for k in ("ip_src", "ip_dst", "arp_spa", "arp_tpa")},
    "ethertype": _int(0, 0xFFFF),
    "vlan": _int(0, 4094),
    "proto": _PROTO,
    "ttl": _int(0, 255),
    "src_port": _int(0, 65535),
    "dst_port": _int(0, 65535),
    "icmp_type": _int(0, 255),
    "icmp_code": _int(0, 255),
    "arp_op": _int(0, 65535),
    "fragment": {"type": "string", "enum": ["no", "first", "later"]},
}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _child(operation: str, **body: Any) -> dict[str, Any]:
    return {"operationId": operation, "requestBody": body}


_SAME_TENANT = "$response.body#/tenant_id"
#: links from a created object to the objects that hang off it (for clients and for
#: stateful testing: a port of the new bridge, a rule of the new chain, a trace from the
#: new port, ...); schemathesis fills in the other fields
_CHILD_LINKS: dict[str, dict[str, Any]] = {
    "bridges": {
        "CreatePort": _child("create_ports", device_id="$response.body#/id", tenant_id=_SAME_TENANT)
    },
    "routers": {
        "CreatePort": _child(
            "create_ports", device_id="$response.body#/id", tenant_id=_SAME_TENANT
        ),
        "CreateRoute": _child(
            "create_routes", router_id="$response.body#/id", tenant_id=_SAME_TENANT
        ),
    },
    "chains": {
        "CreateRule": _child("create_rules", chain_id="$response.body#/id", tenant_id=_SAME_TENANT)
    },
    "ports": {
        "Trace": _child(
            "trace",
            ingress_port="$response.body#/id",
            packet={"eth_src": "$response.body#/mac", "eth_dst": "ff:ff:ff:ff:ff:ff"},
        )
    },
}


def document() -> dict[str, Any]:
    """The OpenAPI 3.0 document for every route the extension serves."""
    paths: dict[str, Any] = {}
    errors = {"400": _ERROR, "404": _ERROR}
    for kind in KINDS:
        ref = {"$ref": f"#/components/schemas/{kind}"}
        created = _json(ref, "created")
        created["links"] = {
            verb.capitalize(): {
                "operationId": f"{verb}_{kind}",
                "parameters": {"id": "$response.body#/id"},
            }
            for verb in ("get", "update", "delete")
        }
        if kind == "ports":
            for verb in ("link", "unlink"):
                created["links"][verb.capitalize()] = {
                    "operationId": f"{verb}_port",
                    "parameters": {"id": "$response.body#/id"},
                }
        created["links"].update(_CHILD_LINKS.get(kind, {}))
        paths[f"/v1/{kind}"] = {
            "get": {
                "operationId": f"list_{kind}",
                "summary": f"list {kind}",
                "responses": {"200": _json({"type": "array", "items": ref}, "all")},
            },
            "post": {
                "operationId": f"create_{kind}",
                "summary": f"create a {kind[:-1]}",
                "requestBody": {"required": True, "content": {"application/json": {"schema": ref}}},
                "responses": {"201": created, **errors},
            },
        }
        one = {"name": "id", "in": "path", "required": True, "schema": _UUID}
        paths[f"/v1/{kind}/{{id}}"] = {
            "parameters": [one],
            "get": {
                "operationId": f"get_{kind}",
                "responses": {"200": _json(ref, "the object"), "404": _ERROR},
            },
            "patch": {
                "operationId": f"update_{kind}",
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": _patch_schema(kind)}},
                },
                "responses": {"200": _json(ref, "updated"), **errors},
            },
            "delete": {
                "operationId": f"delete_{kind}",
                "responses": {"204": {"description": "deleted"}, "404": _ERROR, "409": _ERROR},
            },
        }
    port_ref = {"$ref": "#/components/schemas/ports"}
    one = {"name": "id", "in": "path", "required": True, "schema": _UUID}
    paths["/v1/ports/{id}/link"] = {
        "parameters": [one],
        "post": {
            "operationId": "link_port",
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "properties": {"peer_id": _UUID},
                            "required": ["peer_id"],
                            "additionalProperties": False,
                        }
                    }
                },
            },
            "responses": {"200": _json(port_ref, "linked"), **errors, "409": _ERROR},
        },
    }
    paths["/v1/ports/{id}/unlink"] = {
        "parameters": [one],
        "post": {
            "operationId": "unlink_port",
            "responses": {"200": _json(port_ref, "unlinked"), "404": _ERROR, "409": _ERROR},
        },
    }
    packet = {
        "type": "object",
        "properties": {n: PACKET_SCHEMAS[n] for n in FIELD_NAMES},
        "required": ["eth_src", "eth_dst"],
        "additionalProperties": False,
    }
    hop = {
        "type": "object",
        "properties": {
            k: {"type": "string", "nullable": True}
            for k in ("device", "kind", "action", "rule", "reason")
        },
    }
    paths["/v1/trace"] = {
        "post": {
            "operationId": "trace",
            "summary": "simulate a packet through the virtual topology",
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "properties": {"ingress_port": _UUID, "packet": packet},
                            "required": ["ingress_port", "packet"],
                            "additionalProperties": False,
                        }
                    }
                },
            },
            "responses": {
                "200": _json(
                    {
                        "type": "object",
                        "properties": {
                            "decision": {
                                "type": "string",
                                "enum": ["forward", "drop", "reject", "consumed", "needs_arp"],
                            },
                            "reason": {"type": "string", "nullable": True},
                            "egress_ports": {"type": "array", "items": _UUID},
                            "packet_out": {**packet, "nullable": True},
                            "egress": {"type": "array", "items": {"type": "object"}},
                            "generated": {"type": "array", "items": {"type": "object"}},
                            "learned": {"type": "array", "items": {"type": "object"}},
                            "match": {"type": "array", "items": {"type": "string"}},
                            "hops": {"type": "array", "items": hop},
                        },
                    },
                    "the simulation result",
                ),
                **errors,
            },
        }
    }
    paths["/v1/openapi.json"] = {
        "get": {"operationId": "openapi", "responses": {"200": {"description": "this document"}}}
    }
    return {
        "openapi": "3.0.3",
        "info": {"title": "vnetmesh network API", "version": "1"},
        "paths": paths,
        "components": {"schemas": {kind: _schema(kind) for kind in KINDS}},
    }
