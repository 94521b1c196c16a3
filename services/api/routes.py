"""aiohttp handlers for the topology API; all logic lives in the store and trace modules."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from aiohttp import web

from services.api import openapi
from services.api.errors import ApiError
from services.api.trace import trace
from services.simulation.state import StateView
from services.topology.model import KINDS
from services.topology.store import TopologyStore

MAX_BODY = 1 << 20


async def _json_body(request: web.Request) -> Any:
    raw = await request.content.read(MAX_BODY + 1)
    if len(raw) > MAX_BODY:
        raise ApiError(400, "body too large", "body")
    try:
        return json.loads(raw or b"null")
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "malformed JSON", "body") from None


def _error(e: ApiError) -> web.Response:
    return web.json_response(e.body(), status=e.status)


def add_routes(app: web.Application, store: TopologyStore, state: Callable[[], StateView]) -> None:
    """Register /v1/<kind>, /v1/ports/{id}/link|unlink, /v1/trace and /v1/openapi.json."""
    doc = openapi.document()

    def handler(fn: Callable[[web.Request], Any]) -> Callable[[web.Request], Any]:
        async def wrapped(request: web.Request) -> web.StreamResponse:
            try:
                return await fn(request)  # type: ignore[no-any-return]
            except ApiError as e:
                return _error(e)

        return wrapped

    for kind in KINDS:

        async def list_(request: web.Request, kind: str = kind) -> web.Response:
            return web.json_response(store.list(kind))

        async def create(request: web.Request, kind: str = kind) -> web.Response:
            return web.json_response(store.create(kind, await _json_body(request)), status=201)

        async def get(request: web.Request, kind: str = kind) -> web.Response:
            return web.json_response(store.get(kind, request.match_info["id"]))

        async def patch(request: web.Request, kind: str = kind) -> web.Response:
            body = await _json_body(request)
            return web.json_response(store.patch(kind, request.match_info["id"], body))

        async def delete(request: web.Request, kind: str = kind) -> web.Response:
            store.delete(kind, request.match_info["id"])
            return web.Response(status=204)

        app.router.add_get(f"/v1/{kind}", handler(list_))
        app.router.add_post(f"/v1/{kind}", handler(create))
        app.router.add_get(f"/v1/{kind}/{{id}}", handler(get))
        app.router.add_patch(f"/v1/{kind}/{{id}}", handler(patch))
        app.router.add_delete(f"/v1/{kind}/{{id}}", handler(delete))

    async def link(request: web.Request) -> web.Response:
        body = await _json_body(request)
        if not isinstance(body, dict) or set(body) != {"peer_id"}:
            raise ApiError(400, 'expected {"peer_id": ...}', "peer_id")
        return web.json_response(store.link(request.match_info["id"], body["peer_id"]))

    async def unlink(request: web.Request) -> web.Response:
        return web.json_response(store.unlink(request.match_info["id"]))

    async def do_trace(request: web.Request) -> web.Response:
        body = await _json_body(request)
        return web.json_response(trace(store.topology(), state(), body))

    async def get_openapi(request: web.Request) -> web.Response:
        return web.json_response(doc)

    app.router.add_post("/v1/ports/{id}/link", handler(link))
    app.router.add_post("/v1/ports/{id}/unlink", handler(unlink))
    app.router.add_post("/v1/trace", handler(do_trace))
    app.router.add_get("/v1/openapi.json", handler(get_openapi))
