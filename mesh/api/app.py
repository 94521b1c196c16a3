"""Build the aiohttp Application of meshd's API."""

from __future__ import annotations

from aiohttp import web
from aiohttp.typedefs import Middleware

import mesh.api.kv as kv
import mesh.api.members as members
import mesh.api.metrics as metrics
from mesh.api.auth import bearer_middleware
from mesh.api.errors import error_middleware
from mesh.api.state import STATE, ApiState

__all__ = ["STATE", "ApiState", "make_app"]


def make_app(state: ApiState, *, token: str | None = None) -> web.Application:
    """The API app; extensions may add more routes before it is started."""
    middlewares: list[Middleware] = [error_middleware]
    if token is not None:
        middlewares.append(bearer_middleware(token))
    # Bodies are read with our own limit (400, not 413); this bounds aiohttp's buffer too.
    app = web.Application(middlewares=middlewares, client_max_size=state.max_body_bytes + 1)
    app[STATE] = state
    app.router.add_get("/healthz", members.healthz)
    app.router.add_get("/v1/members", members.list_members)
    app.router.add_get("/metrics", metrics.scrape)
    app.router.add_get("/v1/kv", kv.list_all)
    app.router.add_get("/v1/kv/{key:[\\s\\S]+}", kv.get_one)
    app.router.add_put("/v1/kv/{key:[\\s\\S]+}", kv.put_one)
    app.router.add_delete("/v1/kv/{key:[\\s\\S]+}", kv.delete_one)
    return app
