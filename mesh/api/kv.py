"""The replicated key/value table "kv" (ORMap of LWWRegister) over HTTP.

A write is acknowledged once applied to the local replica and, with a data dir, synced to
its write-ahead log (without one it lives in memory until it has spread); gossip spreads
it. ``?wait=replicas:N`` answers once N other members hold it too (504 otherwise).
"""

from __future__ import annotations

import math
import re
import urllib.parse
from collections.abc import Container

from aiohttp import web

from mesh.api.errors import json_error
from mesh.api.state import ApiState
from mesh.api.state import api_state as _state
from mesh.api.values import BadInput, check_key, parse_value
from mesh.setup_errors import ReplicationTimeout
from mesh.table import Table
from mesh.wal import WalError

KV_PREFIX = "/v1/kv/"
DEFAULT_WAIT_TIMEOUT = 5.0
MAX_WAIT_TIMEOUT = 60.0
_WAIT = re.compile(r"replicas:([0-9]{1,4})")
_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")


def path_key(request: web.Request) -> str:
    """The key of /v1/kv/{key}, percent-decoded from the raw path: BadInput (400) unless it
    is valid percent-encoding of UTF-8 (``a%ffb`` and ``a%`` are refused, not stored raw)."""
    raw = request.rel_url.raw_path
    if not raw.startswith(KV_PREFIX):
        raise BadInput("bad key path")
    encoded = raw[len(KV_PREFIX) :]
    if _BAD_ESCAPE.search(encoded):
        raise BadInput("key is not valid percent-encoding ('%' must start a %XX escape)")
    try:
        key = urllib.parse.unquote_to_bytes(encoded).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadInput("key is not percent-encoded UTF-8") from exc
    return check_key(key)


def _wait_for(request: web.Request) -> tuple[int, float] | None:
    """``?wait=replicas:N[&timeout=SECONDS]`` as (N, timeout); None without ``wait``."""
    wait = request.query.get("wait")
    if wait is None:
        if "timeout" in request.query:
            raise BadInput("timeout is only meaningful with wait=replicas:N")
        return None
    match = _WAIT.fullmatch(wait)
    if match is None:
        raise BadInput("wait: expected replicas:N with N a number of other members")
    text = request.query.get("timeout", str(DEFAULT_WAIT_TIMEOUT))
    try:
        timeout = float(text)
    except ValueError as exc:
        raise BadInput("timeout: expected seconds") from exc
    if not math.isfinite(timeout) or not 0 < timeout <= MAX_WAIT_TIMEOUT:
        raise BadInput(f"timeout: expected seconds in (0, {MAX_WAIT_TIMEOUT:g}]")
    return int(match.group(1)), timeout


async def _settle(state: ApiState, wait: tuple[int, float] | None) -> web.Response | None:
    """After a local write: wait until it is durable (and replicated, when asked). None
    when it is; else the error response (503: not durable, 504: not replicated in time)."""
    if state.durable is not None:
        try:
            await state.durable()
        except WalError as exc:
            return json_error(503, f"write applied in memory but not durable: {exc}")
    if wait is not None and wait[0] > 0:
        if state.replicated is None:
            return json_error(400, "wait=replicas:N is not available on this server")
        try:
            await state.replicated(*wait)
        except ReplicationTimeout as exc:
            return web.json_response(
                {
                    "error": f"write applied here but not replicated in time: {exc}",
                    "replicas": exc.held,
                    "wanted": exc.wanted,
                },
                status=504,
            )
    return None


def _present(table: Table, key: str) -> bool:
    state: object = table.state
    return isinstance(state, Container) and key in state


async def list_all(request: web.Request) -> web.Response:
    table = _state(request).kv
    return web.json_response(dict(table.get() or {}))


async def get_one(request: web.Request) -> web.Response:
    table = _state(request).kv
    try:
        key = path_key(request)
    except BadInput as exc:
        return json_error(400, str(exc))
    if not _present(table, key):
        return json_error(404, "no such key")
    return web.json_response(table.get(key))


async def put_one(request: web.Request) -> web.Response:
    state = _state(request)
    try:
        key = path_key(request)
        wait = _wait_for(request)
        body = await _read_body(request, state.max_body_bytes)
        value = parse_value(body)
    except BadInput as exc:
        return json_error(400, str(exc))
    try:
        state.kv.put(key, value, now=state.clock())
    except (TypeError, ValueError) as exc:  # the CRDT layer's own value checks
        return json_error(400, f"value not storable: {exc}")
    state.on_write()
    failed = await _settle(state, wait)
    return failed or web.json_response({"key": key, "value": value})


async def delete_one(request: web.Request) -> web.StreamResponse:
    state = _state(request)
    try:
        key = path_key(request)
        wait = _wait_for(request)
    except BadInput as exc:
        return json_error(400, str(exc))
    if not _present(state.kv, key):
        return json_error(404, "no such key")
    state.kv.delete(key, now=state.clock())
    state.on_write()
    failed = await _settle(state, wait)
    return failed or web.Response(status=204)


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
