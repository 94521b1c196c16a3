"""Generic REST resources (`/v1/<kind>`): a client and the five commands list, show,
create, update, delete, generated from a ResourceSpec so that a new kind (bridges, routers,
ports, routes, chains, rules, ...) is one declaration in commands/resources.py."""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mesh.cli.errors import ApiError, UsageError
from mesh.cli.http import ApiClient, quote
from mesh.cli.output import Column
from mesh.cli.parser import Context, SubCommands


@dataclass(frozen=True, slots=True)
class ResourceSpec:
    """A kind of resource served at /v1/<kind>, and how to show it."""

    kind: str  # URL segment and command name, plural: "bridges"
    columns: tuple[Column, ...] = (("ID", "id"), ("NAME", "name"))
    help: str = ""
    aliases: tuple[str, ...] = ()  # e.g. ("bridge", "br")
    update_method: str = "PATCH"  # partial update; "PUT" for replace-style APIs
    prefix: str = "/v1"
    # fields offered as `--field-name VALUE` on create and update (read like --set values)
    fields: tuple[str, ...] = ()
    command: str = ""  # command name when it differs from kind ("port-groups")
    # fields whose `--field-name` value is always a string (a name "2024", a tenant "42")
    text_fields: tuple[str, ...] = ()


class ResourceClient:
    """list/show/create/update/delete over `<prefix>/<kind>`."""

    def __init__(self, api: ApiClient, spec: ResourceSpec) -> None:
        self.api = api
        self.spec = spec
        self.base = f"{spec.prefix}/{quote(spec.kind)}"

    def _one(self, rid: str) -> str:
        if not rid:
            raise UsageError(f"empty {self.spec.kind} id")
        return f"{self.base}/{quote(rid)}"

    def list(self) -> list[dict[str, Any]]:
        resp = self.api.get(self.base)
        body = resp.json()
        if isinstance(body, dict) and isinstance(body.get("items"), list):
            body = body["items"]
        elif isinstance(body, dict) and all(isinstance(v, dict) for v in body.values()):
            body = [{"id": k, **v} for k, v in body.items()]  # an id -> object map
        if not isinstance(body, list) or not all(isinstance(x, dict) for x in body):
            raise ApiError(resp.status, f"unexpected {self.base} answer: not a list of objects")
        return body

    def show(self, rid: str) -> Any:
        return self.api.get(self._one(rid)).json()

    def create(self, body: dict[str, Any]) -> Any:
        return self.api.post(self.base, body).json()

    def update(self, rid: str, body: dict[str, Any]) -> Any:
        return self.api.request(self.spec.update_method, self._one(rid), body).json()

    def delete(self, rid: str) -> None:
        self.api.delete(self._one(rid))


def _json_or_text(raw: str) -> Any:
    """A command-line value: JSON if it parses, else the text itself."""
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        return raw


def parse_fields(
    body: str | None,
    sets: Sequence[str] | None,
    read_stdin: Any,
    fields: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A JSON object argument ('-' = stdin), then `fields` (values as they are), then
    `--set a.b=value` assignments (value read as JSON if it parses, else as a string)."""
    obj: dict[str, Any] = {}
    if body is not None:
        text = read_stdin() if body == "-" else body
        try:
            parsed = json.loads(text)
        except (ValueError, RecursionError):
            raise UsageError("the object argument is not valid JSON") from None
        if not isinstance(parsed, dict):
            raise UsageError("the object argument must be a JSON object")
        obj = parsed
    obj.update(fields or {})
    for assignment in sets or ():
        path, eq, raw = assignment.partition("=")
        keys = path.split(".")
        if not eq or not all(keys):
            raise UsageError(f"bad --set {assignment!r}: expected FIELD=VALUE (FIELD may be a.b)")
        value = _json_or_text(raw)
        node = obj
        for k in keys[:-1]:
            child = node.setdefault(k, {})
            if not isinstance(child, dict):
                raise UsageError(f"bad --set {assignment!r}: {k} is not an object")
            node = child
        node[keys[-1]] = value
    return obj


def field_option(field: str) -> str:
    """The command-line option of a field: `tenant_id` -> `--tenant-id`."""
    return "--" + field.replace("_", "-")


def _body(spec: ResourceSpec, args: argparse.Namespace, read_stdin: Any) -> dict[str, Any]:
    """The JSON object argument, the `--field-name VALUE` options, then `--set`."""
    given = {f: getattr(args, f"field_{f}", None) for f in spec.fields}
    options = {
        f: v if f in spec.text_fields else _json_or_text(v)
        for f, v in given.items()
        if v is not None
    }
    return parse_fields(args.object, args.set, read_stdin, options)


def register_resource(sub: SubCommands, spec: ResourceSpec) -> SubCommands:
    """Add `meshctl <kind> list|show|create|update|delete`; returns the command group so
    that callers can add more subcommands to it (e.g. `ports link`)."""
    name = spec.command or spec.kind
    group = sub.group(name, spec.help or f"manage {spec.kind}", aliases=spec.aliases)

    def client(ctx: Context) -> ResourceClient:
        return ResourceClient(ctx.api, spec)

    def do_list(ctx: Context, args: argparse.Namespace) -> int:
        ctx.out.rows(client(ctx).list(), spec.columns)
        return 0

    def do_show(ctx: Context, args: argparse.Namespace) -> int:
        _print(ctx, client(ctx).show(args.id))
        return 0

    def do_create(ctx: Context, args: argparse.Namespace) -> int:
        _print(ctx, client(ctx).create(_body(spec, args, ctx.read_stdin)))
        return 0

    def do_update(ctx: Context, args: argparse.Namespace) -> int:
        fields = _body(spec, args, ctx.read_stdin)
        if not fields:
            raise UsageError("nothing to update: give a JSON object, --set FIELD=VALUE or --FIELD")
        _print(ctx, client(ctx).update(args.id, fields))
        return 0

    def do_delete(ctx: Context, args: argparse.Namespace) -> int:
        try:
            client(ctx).delete(args.id)
        except ApiError as e:
            if not (args.force and e.status == 404):
                raise
        return 0

    group.add("list", f"list {spec.kind}", do_list, aliases=["ls"])
    p = group.add("show", f"show one of the {spec.kind}", do_show, aliases=["get"])
    p.add_argument("id")
    p = group.add("create", f"create one of the {spec.kind}", do_create)
    _object_arguments(p, spec)
    p = group.add("update", f"change one of the {spec.kind}", do_update)
    p.add_argument("id")
    _object_arguments(p, spec)
    p = group.add("delete", f"delete one of the {spec.kind}", do_delete, aliases=["del", "rm"])
    p.add_argument("id")
    p.add_argument("-f", "--force", action="store_true", help="no error if it does not exist")
    return group


def _object_arguments(p: argparse.ArgumentParser, spec: ResourceSpec) -> None:
    p.add_argument("object", nargs="?", help="a JSON object ('-' reads standard input)")
    p.add_argument("--set", action="append", metavar="FIELD=VALUE", help="set one field")
    for f in spec.fields:
        kind = "text" if f in spec.text_fields else "JSON or text, like --set"
        p.add_argument(field_option(f), dest=f"field_{f}", metavar="VALUE", help=f"{f} ({kind})")


def _print(ctx: Context, body: Any) -> None:
    if isinstance(body, dict):
        ctx.out.record(body)
    elif body is not None:
        ctx.out.data(body)
