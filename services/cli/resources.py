"""`meshctl bridges|routers|ports|routes|chains|rules|port-groups|ip-address-groups
list|show|create|update|delete` (generic ResourceSpecs) plus `meshctl ports link|unlink`."""

from __future__ import annotations

import argparse
from typing import Any

from mesh.cli.http import quote
from mesh.cli.output import Column
from mesh.cli.parser import Context, SubCommands
from mesh.cli.resource import ResourceSpec, register_resource
from services.topology.model import KINDS

_DEVICE: tuple[Column, ...] = (
    ("ID", "id"),
    ("NAME", "name"),
    ("TENANT", "tenant_id"),
    ("INBOUND", "inbound_chain_id"),
    ("OUTBOUND", "outbound_chain_id"),
    ("UP", "admin_state_up"),
)


#: kind -> (table columns, command aliases)
LAYOUT: dict[str, tuple[tuple[Column, ...], tuple[str, ...]]] = {
    "bridges": (_DEVICE, ("bridge", "br")),
    "routers": (_DEVICE, ("router", "rt")),
    "ports": (
        (
            ("ID", "id"),
            ("NAME", "name"),
            ("DEVICE", "device_id"),
            ("MAC", "mac"),
            ("ADDRESS", "address"),
            ("ADDRESSES", "addresses"),
            ("PEER", "peer_id"),
            ("BINDING", "binding"),
            ("KEY", "tunnel_key"),
        ),
        ("port",),
    ),
    "routes": (
        (
            ("ID", "id"),
            ("ROUTER", "router_id"),
            ("DST", "dst"),
            ("SRC", "src"),
            ("TYPE", "type"),
            ("NEXT_HOP_PORT", "next_hop_port"),
            ("GATEWAY", "next_hop_gw"),
            ("WEIGHT", "weight"),
        ),
        ("route",),
    ),
    "chains": ((("ID", "id"), ("NAME", "name"), ("TENANT", "tenant_id")), ("chain",)),
    "rules": (
        (
            ("ID", "id"),
            ("CHAIN", "chain_id"),
            ("POS", "position"),
            ("ACTION", "action"),
            ("JUMP", "jump_chain_id"),
            ("NAME", "name"),
        ),
        ("rule",),
    ),
    "port_groups": (
        (("ID", "id"), ("NAME", "name"), ("TENANT", "tenant_id")),
        ("port-group", "port_groups", "pg"),
    ),
    "ip_address_groups": (
        (("ID", "id"), ("NAME", "name"), ("TENANT", "tenant_id"), ("ADDRESSES", "addresses")),
        ("ip-address-group", "ip_address_groups", "ipg"),
    ),
}


def spec(kind: str) -> ResourceSpec:
    """The generic resource description of one topology kind: every writable field of
    the model is also a `--field-name` option of create and update."""
    columns, aliases = LAYOUT[kind]
    specs = [s for s in KINDS[kind].spec() if s.read_only is None]
    writable = tuple(s.name for s in specs)
    return ResourceSpec(
        kind,
        columns,
        help=f"manage {kind.replace('_', ' ')}",
        aliases=aliases,
        fields=writable,
        command=kind.replace("_", "-"),
        # free text (declared so): `--name 2024` is the string "2024", not a number
        text_fields=tuple(s.name for s in specs if s.codec.text),
    )


def register(sub: SubCommands) -> None:
    """One command group per kind (named with dashes: `port-groups`), and link/unlink."""
    for kind in KINDS:
        s = spec(kind)
        group = register_resource(sub, s)
        if kind == "ports":
            _register_links(group)


def _register_links(group: SubCommands) -> None:
    def do_link(ctx: Context, args: argparse.Namespace) -> int:
        body = ctx.api.post(f"/v1/ports/{quote(args.id)}/link", {"peer_id": args.peer}).json()
        _show(ctx, body)
        return 0

    def do_unlink(ctx: Context, args: argparse.Namespace) -> int:
        body = ctx.api.post(f"/v1/ports/{quote(args.id)}/unlink", {}).json()
        _show(ctx, body)
        return 0

    p = group.add("link", "link two ports of two devices (both sides)", do_link)
    p.add_argument("id", help="a port id")
    p.add_argument("peer", help="the other port's id")
    p = group.add("unlink", "remove a port's link (both sides)", do_unlink)
    p.add_argument("id", help="a port id")


def _show(ctx: Context, body: Any) -> None:
    """The port as `field: value` lines (JSON with --json); anything else as JSON."""
    if isinstance(body, dict):
        ctx.out.record(body)
    else:
        ctx.out.data(body)
