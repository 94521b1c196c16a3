"""Optional bearer-token authentication: every route but /healthz needs the token."""

from __future__ import annotations

import hmac

from aiohttp import web
from aiohttp.typedefs import Middleware

from mesh.api.errors import Handler, json_error

OPEN_PATHS = frozenset({"/healthz"})


def bearer_middleware(token: str) -> Middleware:
    """A middleware comparing ``Authorization: Bearer <token>`` in constant time."""
    expected = f"Bearer {token}".encode()

    @web.middleware
    async def check(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path not in OPEN_PATHS:
            given = request.headers.get("Authorization", "").encode("utf-8", "surrogateescape")
            if not hmac.compare_digest(given, expected):
                return json_error(
                    401, "missing or bad bearer token", {"WWW-Authenticate": "Bearer"}
                )
        return await handler(request)

    return check
