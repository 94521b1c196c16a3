"""The OpenAPI 3 document of the topology API, generated from the same field specs the
store validates with (a test checks every declared field has a schema here)."""

from __future__ import annotations

from typing import Any

from services.simulation.packet import FIELD_NAMES
from services.topology.model import KINDS

_UUID = {"type": "string", "format": "uuid"}
_OPT_UUID = {"type": "string", "format": "uuid", "nullable": True}
_MAC = {"type": "string", "pattern": "^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$"}
_OPT_MAC = {**_MAC, "nullable": True}
_IP = {"type": "string", "format": "ipv4"}
_CIDR = {"type": "string", "example": "10.0.0.1/24"}
_OPT_CIDR = {**_CIDR, "nullable": True}
_RANGE = {
    "type": "array",
    "items": {"type": "integer", "minimum": 0, "maximum": 65535},
    "minItems": 2,
    "maxItems": 2,
    "nullable": True,
}
_UUIDS = {"type": "array", "items": _UUID}
_PROTO = {"oneOf": [{"type": "string", "enum": ["tcp", "udp", "icmp"]}, {"type": "integer"}]}
_OPT_BYTE = {"type": "integer", "minimum": 0, "maximum": 255, "nullable": True}

FIELD_SCHEMAS: dict[str, dict[str, Any]] = {
    "id": {**_UUID, "readOnly": True},
    "tenant_id": {"type": "string", "minLength": 1},
    "name": {"type": "string"},
    "admin_state_up": {"type": "boolean"},
    "inbound_chain_id": _OPT_UUID,
    "outbound_chain_id": _OPT_UUID,
    "device_id": _UUID,
    "mac": _MAC,
    "address": _OPT_CIDR,
    "addresses": {"type": "array", "items": {}},  # IPs (ports) or CIDRs (address groups)
    "peer_id": {**_OPT_UUID, "readOnly": True},
    "binding": {
        "type": "object",
        "nullable": True,
        "properties": {"host_id": {"type": "string"}, "interface": {"type": "string"}},
        "required": ["host_id", "interface"],
        "additionalProperties": False,
    },
    "vlan": {"type": "integer", "minimum": 1, "maximum": 4094, "nullable": True},
    "port_group_ids": _UUIDS,
    "router_id": _UUID,
    "dst": _CIDR,
    "src": _CIDR,
    "next_hop_port": _OPT_UUID,
    "next_hop_gw": {**_IP, "nullable": True},
    "type": {"type": "string", "enum": ["normal", "blackhole", "reject"]},
    "weight": {"type": "integer", "minimum": 1, "maximum": 65535},
    "chain_id": _UUID,
    "position": {"type": "integer", "minimum": 0},
    "action": {
        "type": "string",
        "enum": ["accept", "drop", "reject", "continue", "return", "jump"],
    },
    "jump_chain_id": _OPT_UUID,
    "in_port_ids": {**_UUIDS, "nullable": True},
    "out_port_ids": {**_UUIDS, "nullable": True},
    "in_port_group_id": _OPT_UUID,
    "out_port_group_id": _OPT_UUID,
    "eth_src": _OPT_MAC,
    "eth_src_mask": _OPT_MAC,
    "eth_dst": _OPT_MAC,
    "eth_dst_mask": _OPT_MAC,
    "ethertype": {"type": "integer", "minimum": 0, "maximum": 65535, "nullable": True},
    "ip_src": _OPT_CIDR,
    "ip_dst": _OPT_CIDR,
    "ip_src_group_id": _OPT_UUID,
    "ip_dst_group_id": _OPT_UUID,
    "proto": {**_PROTO, "nullable": True},
    "src_port": _RANGE,
    "dst_port": _RANGE,
    "icmp_type": _OPT_BYTE,
    "icmp_code": _OPT_BYTE,
    "fragment_policy": {
        "type": "string",
        "enum": ["any", "header", "nonheader", "unfragmented"],
        "nullable": True,
    },
    "invert": {"type": "array", "items": {"type": "string"}},
}

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
    model = KINDS[kind]
    props = {s.name: FIELD_SCHEMAS[s.name] for s in model.SPEC}
    if kind == "ports":
        props["tunnel_key"] = {"type": "integer", "readOnly": True}
    required = [s.name for s in model.SPEC if s.required and s.name != "id"]
    return {
        "type": "object",
        "properties": props,
        "required": required,
        "additionalProperties": False,
    }


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def document() -> dict[str, Any]:
    """The OpenAPI 3.0 document for every route the extension serves."""
    paths: dict[str, Any] = {}
    errors = {"400": _ERROR, "404": _ERROR}
    for kind in KINDS:
        ref = {"$ref": f"#/components/schemas/{kind}"}
        paths[f"/v1/{kind}"] = {
            "get": {
                "summary": f"list {kind}",
                "responses": {"200": _json({"type": "array", "items": ref}, "all")},
            },
            "post": {
                "summary": f"create a {kind[:-1]}",
                "requestBody": {"required": True, "content": {"application/json": {"schema": ref}}},
                "responses": {"201": _json(ref, "created"), **errors},
            },
        }
        one = {"name": "id", "in": "path", "required": True, "schema": _UUID}
        paths[f"/v1/{kind}/{{id}}"] = {
            "parameters": [one],
            "get": {"responses": {"200": _json(ref, "the object"), "404": _ERROR}},
            "patch": {
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": {"type": "object"}}},
                },
                "responses": {"200": _json(ref, "updated"), **errors},
            },
            "delete": {
                "responses": {"204": {"description": "deleted"}, "404": _ERROR, "409": _ERROR}
            },
        }
    port_ref = {"$ref": "#/components/schemas/ports"}
    one = {"name": "id", "in": "path", "required": True, "schema": _UUID}
    paths["/v1/ports/{id}/link"] = {
        "parameters": [one],
        "post": {
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "properties": {"peer_id": _UUID},
                            "required": ["peer_id"],
                        }
                    }
                },
            },
            "responses": {"200": _json(port_ref, "linked"), **errors, "409": _ERROR},
        },
    }
    paths["/v1/ports/{id}/unlink"] = {
        "parameters": [one],
        "post": {"responses": {"200": _json(port_ref, "unlinked"), "404": _ERROR, "409": _ERROR}},
    }
    packet = {
        "type": "object",
        "properties": {n: {} for n in FIELD_NAMES},
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
            "summary": "simulate a packet through the virtual topology",
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "properties": {"ingress_port": _UUID, "packet": packet},
                            "required": ["ingress_port", "packet"],
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
    paths["/v1/openapi.json"] = {"get": {"responses": {"200": {"description": "this document"}}}}
    return {
        "openapi": "3.0.3",
        "info": {"title": "vnetmesh network API", "version": "1"},
        "paths": paths,
        "components": {"schemas": {kind: _schema(kind) for kind in KINDS}},
    }
