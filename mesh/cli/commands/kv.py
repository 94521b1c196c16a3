"""`meshctl kv get|put|del|ls`: the replicated key/value table."""

from __future__ import annotations

import argparse
import json
from typing import Any

from mesh.cli.errors import ApiError, UsageError
from mesh.cli.http import quote
from mesh.cli.output import cell, pretty
from mesh.cli.parser import Context, SubCommands


def register(sub: SubCommands) -> None:
    kv = sub.group("kv", "read and write the replicated key/value table")
    p = kv.add("get", "print the value of KEY", get)
    p.add_argument("key")
    p = kv.add(
        "put",
        "set KEY to VALUE",
        put,
        aliases=["set"],
        description="Set KEY to VALUE. VALUE is read as JSON if it parses (42, true, "
        '{"a":1}, "quoted"), else as a string; --string always takes it as a string; '
        "'-' reads it from standard input.",
    )
    p.add_argument("key")
    p.add_argument("value")
    p.add_argument("-s", "--string", action="store_true", help="VALUE is a string, not JSON")
    p = kv.add("del", "delete KEY", delete, aliases=["delete", "rm"])
    p.add_argument("key")
    p.add_argument("-f", "--force", action="store_true", help="no error if KEY is absent")
    p = kv.add("ls", "list keys and values", ls, aliases=["list"])
    p.add_argument("prefix", nargs="?", default="", help="only keys starting with PREFIX")


def _path(key: str) -> str:
    if not key:
        raise UsageError("empty key")
    return "/v1/kv/" + quote(key)


def parse_value(text: str, as_string: bool) -> Any:
    if as_string:
        return text
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return text


def get(ctx: Context, args: argparse.Namespace) -> int:
    value = _not_found_is_clear(args.key, lambda: ctx.api.get(_path(args.key)).json())
    if ctx.out.json:
        ctx.out.data(value)
    else:
        ctx.out.line(pretty(value))
    return 0


def put(ctx: Context, args: argparse.Namespace) -> int:
    text = ctx.read_stdin().rstrip("\n") if args.value == "-" else args.value
    value = parse_value(text, args.string)
    resp = ctx.api.put(_path(args.key), value)
    if ctx.out.json:
        ctx.out.data(resp.json() if resp.body else {"key": args.key, "value": value})
    return 0


def delete(ctx: Context, args: argparse.Namespace) -> int:
    try:
        ctx.api.delete(_path(args.key))
    except ApiError as e:
        if e.status != 404:
            raise
        if not args.force:
            raise ApiError(404, f"no such key: {args.key}") from None
        return 0
    return 0


def ls(ctx: Context, args: argparse.Namespace) -> int:
    resp = ctx.api.get("/v1/kv")
    body = resp.json()
    if not isinstance(body, dict):
        raise ApiError(resp.status, "unexpected /v1/kv answer: not an object")
    items = {k: v for k, v in sorted(body.items()) if k.startswith(args.prefix)}
    if ctx.out.json:
        ctx.out.data(items)
    else:
        ctx.out.rows(
            [{"key": k, "value": cell(v)} for k, v in items.items()],
            (("KEY", "key"), ("VALUE", "value")),
        )
    return 0


def _not_found_is_clear(key: str, fn: Any) -> Any:
    try:
        return fn()
    except ApiError as e:
        if e.status == 404:
            raise ApiError(404, f"no such key: {key}") from None
        raise
