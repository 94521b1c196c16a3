"""The replicated key/value table "kv" (ORMap of LWWRegister) over HTTP.

A write is acknowledged once applied to the local replica; gossip spreads it.
"""

from __future__ import annotations

from collections.abc import Container

from aiohttp import web

from mesh.api.errors import json_error
from mesh.api.state import api_state as _state
from mesh.api.values import BadInput, check_key, parse_value
from mesh.table import Table


def _present(table: Table, key: str) -> bool:
    state: object = table.state
    return isinstance(state, Container) and key in state


async def list_all(request: web.Request) -> web.Response:
    table = _state(request).kv
    return web.json_response(dict(table.get() or {}))


async def get_one(request: web.Request) -> web.Response:
    table = _state(request).kv
    try:
        key = check_key(request.match_info["key"])
    except BadInput as exc:
        return json_error(400, str(exc))
    if not _present(table, key):
        return json_error(404, "no such key")
    return web.json_response(table.get(key))


async def put_one(request: web.Request) -> web.Response:
    state = _state(request)
    try:
        key = check_key(request.match_info["key"])
        body = await _read_body(request, state.max_body_bytes)
        value = parse_value(body)
    except BadInput as exc:
        return json_error(400, str(exc))
    try:
        state.kv.put(key, value, now=state.clock())
    except (TypeError, ValueError) as exc:  # the CRDT layer's own value checks
        return json_error(400, f"value not storable: {exc}")
    state.on_write()
    return web.json_response({"key": key, "value": value})


async def delete_one(request: web.Request) -> web.StreamResponse:
    state = _state(request)
    try:
        key = check_key(request.match_info["key"])
    except BadInput as exc:
        return json_error(400, str(exc))
    if not _present(state.kv, key):
        return json_error(404, "no such key")
    state.kv.delete(key, now=state.clock())
    state.on_write()
    return web.Response(status=204)


async def _read_body(request: web.Request, limit: int) -> bytes:
    if request.content_length is not None and request.content_length > limit:
        raise BadInput(f"body larger than {limit} bytes")
    try:
        body = await request.read()
    except web.HTTPRequestEntityTooLarge as exc:
        raise BadInput(f"body larger than {limit} bytes") from exc
    if len(body) > limit:
        raise BadInput(f"body larger than {limit} bytes")
    return body
