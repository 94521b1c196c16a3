"""`meshctl trace`: simulate one packet through the virtual topology (POST /v1/trace) and
show the walk as one line per hop, then the decision, the egress ports and the packet out."""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Mapping
from typing import Any

from mesh.cli.errors import CliError, UsageError
from mesh.cli.http import quote
from mesh.cli.output import cell, table
from mesh.cli.parser import Context, SubCommands
from services.simulation.packet import FIELD_NAMES

#: packet fields given as numbers on the command line (the others are text: MAC, IP, ...)
INT_FIELDS = frozenset(
    {"ethertype", "vlan", "ttl", "src_port", "dst_port", "icmp_type", "icmp_code", "arp_op"}
)
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
MAX_LOOKUPS = 64  # names fetched for one trace
#: hop kind -> the collection its device id belongs to
HOP_KINDS = {"port": "ports", "bridge": "bridges", "router": "routers", "chain": "chains"}


def _int(text: str) -> int:
    try:
        return int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None


def _proto(text: str) -> str | int:
    return int(text) if text.isascii() and text.isdigit() else text


def register(sub: SubCommands) -> None:
    p = sub.add(
        "trace",
        "simulate a packet entering a virtual port and show its path",
        do_trace,
        description=(
            "Simulate a packet entering a virtual port (POST /v1/trace) and show each hop "
            "(port, device, chain), the decision, the egress ports and the packet out. The "
            "packet is a JSON object argument ('-' reads standard input) and/or options; "
            "--eth-src defaults to the ingress port's MAC."
        ),
    )
    p.add_argument("--ingress-port", required=True, metavar="PORT_ID", help="where it enters")
    p.add_argument("packet", nargs="?", help="the packet as a JSON object ('-' = stdin)")
    for name in FIELD_NAMES:
        kind: Any = _int if name in INT_FIELDS else _proto if name == "proto" else str
        p.add_argument(
            "--" + name.replace("_", "-"),
            dest=f"pkt_{name}",
            type=kind,
            metavar=_metavar(name),
            help=f"packet field {name}"
            + (" (default: the ingress port's MAC)" if name == "eth_src" else ""),
        )


def _metavar(name: str) -> str:
    if name in INT_FIELDS:
        return "N"
    if name in ("eth_src", "eth_dst", "arp_sha", "arp_tha"):
        return "MAC"
    if name in ("ip_src", "ip_dst", "arp_spa", "arp_tpa"):
        return "IP"
    return {"proto": "tcp|udp|icmp|N", "fragment": "no|first|later"}.get(name, "VALUE")


def packet_from_args(args: argparse.Namespace, read_stdin: Any) -> dict[str, Any]:
    """The JSON packet argument merged with the field options (options win)."""
    packet: dict[str, Any] = {}
    if args.packet is not None:
        text = read_stdin() if args.packet == "-" else args.packet
        try:
            parsed = json.loads(text)
        except (ValueError, RecursionError):
            raise UsageError("the packet argument is not valid JSON") from None
        if not isinstance(parsed, dict):
            raise UsageError("the packet argument must be a JSON object")
        packet = parsed
    for name in FIELD_NAMES:
        value = getattr(args, f"pkt_{name}")
        if value is not None:
            packet[name] = value
    return packet


def do_trace(ctx: Context, args: argparse.Namespace) -> int:
    if not args.ingress_port:
        raise UsageError("empty --ingress-port")
    packet = packet_from_args(args, ctx.read_stdin)
    if "eth_src" not in packet:
        port = ctx.api.get(f"/v1/ports/{quote(args.ingress_port)}").json()
        if isinstance(port, dict) and isinstance(port.get("mac"), str):
            packet["eth_src"] = port["mac"]
    result = ctx.api.post("/v1/trace", {"ingress_port": args.ingress_port, "packet": packet})
    body = result.json()
    if ctx.out.json:
        ctx.out.data(body)
        return 0
    if not isinstance(body, dict):
        raise CliError("unexpected /v1/trace answer: not an object")
    ctx.out.line(render(body, _names(ctx, body)))
    return 0


Json = Mapping[str, object]


def _dicts(value: object) -> list[Json]:
    """The JSON objects of a list in a server answer (anything else is skipped)."""
    if not isinstance(value, list):
        return []
    out: list[Json] = []
    for item in value:
        if isinstance(item, dict):
            obj: Json = item
            out.append(obj)
    return out


def _items(value: object) -> list[object]:
    """A list in a server answer, or nothing."""
    return list(value) if isinstance(value, list) else []


def _names(ctx: Context, body: Json) -> dict[str, str]:
    """id -> name of the objects the trace mentions, one GET each (at most MAX_LOOKUPS;
    best effort: an object that cannot be read is shown by its id)."""
    wanted: dict[str, str] = {}  # id -> collection
    hops = _dicts(body.get("hops"))
    for h in hops:
        kind, device, rule, reason = h.get("kind"), h.get("device"), h.get("rule"), h.get("reason")
        if isinstance(kind, str) and kind in HOP_KINDS and isinstance(device, str):
            wanted.setdefault(device, HOP_KINDS[kind])
        if isinstance(rule, str):
            wanted.setdefault(rule, "rules")
    ports = _items(body.get("egress_ports"))
    ports += [g.get("port_id") for g in _dicts(body.get("generated"))]
    for h in hops:
        reason = h.get("reason")
        if isinstance(reason, str):
            ports += _UUID.findall(reason)
    top = body.get("reason")
    if isinstance(top, str):
        ports += _UUID.findall(top)
    for pid in ports:
        if isinstance(pid, str):
            wanted.setdefault(pid, "ports")
    names: dict[str, str] = {}
    for oid, kind in list(wanted.items())[:MAX_LOOKUPS]:
        try:
            obj = ctx.api.get(f"/v1/{kind}/{quote(oid)}").json()
        except CliError:
            continue
        if isinstance(obj, dict) and obj.get("name"):
            names[oid] = str(obj["name"])
    return names


def label(oid: object, names: Mapping[str, str]) -> str:
    """`name (id prefix)` for a named object, else its id."""
    if not isinstance(oid, str) or not oid:
        return cell(oid)
    name = names.get(oid)
    return f"{cell(name)} ({oid[:8]})" if name else oid


def with_names(text: object, names: Mapping[str, str]) -> str:
    """A server reason with the ids of named objects labelled ("mac -> vm2 (7a5850e6)")."""
    if not isinstance(text, str):
        return cell(text)
    return cell(_UUID.sub(lambda m: label(m.group(0), names), text))


def packet_text(packet: Any) -> str:
    """`field=value` pairs in header order."""
    if not isinstance(packet, dict):
        return cell(packet)
    order = {n: i for i, n in enumerate(FIELD_NAMES)}
    keys = sorted(packet, key=lambda k: (order.get(k, len(order)), k))
    return " ".join(f"{k}={cell(packet[k])}" for k in keys)


def render(body: Json, names: Mapping[str, str]) -> str:
    """The trace for people: the hop table, then decision, reason, egress and packet out."""
    hops = _dicts(body.get("hops"))
    rows = [
        {
            "n": i,
            "kind": h.get("kind"),
            "device": label(h.get("device"), names),
            "action": h.get("action"),
            "rule": label(h.get("rule"), names) if h.get("rule") else None,
            "reason": with_names(h.get("reason"), names) if h.get("reason") else None,
        }
        for i, h in enumerate(hops, 1)
    ]
    cols = (
        ("#", "n"),
        ("KIND", "kind"),
        ("DEVICE", "device"),
        ("ACTION", "action"),
        ("RULE", "rule"),
        ("REASON", "reason"),
    )
    lines = [table(rows, cols), ""]
    lines.append(f"decision:     {cell(body.get('decision'))}")
    if body.get("reason"):
        lines.append(f"reason:       {with_names(body.get('reason'), names)}")
    ports = _items(body.get("egress_ports"))
    lines.append(f"egress ports: {', '.join(label(p, names) for p in ports) or '-'}")
    for e in _dicts(body.get("egress")):
        where = f"{cell(e.get('host_id'))}/{cell(e.get('interface'))}"
        rewrites = ",".join(str(r) for r in _items(e.get("rewrites"))) or "-"
        lines.append(
            f"  {label(e.get('port_id'), names)}: host/interface {where}, "
            f"tunnel key {cell(e.get('tunnel_key'))}, rewrites {rewrites}"
        )
    lines.append(f"packet out:   {packet_text(body.get('packet_out'))}")
    for g in _dicts(body.get("generated")):
        lines.append(
            f"generated:    {cell(g.get('reason'))} out of {label(g.get('port_id'), names)}: "
            f"{packet_text(g.get('packet'))}"
        )
    return "\n".join(lines)
