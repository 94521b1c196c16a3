"""JSON error bodies, and a middleware so that no route answers bad input with a 5xx."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

log = logging.getLogger("mesh.api")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def json_error(status: int, message: str, headers: dict[str, str] | None = None) -> web.Response:
    """``{"error": message}`` with the given status."""
    return web.json_response({"error": message}, status=status, headers=headers)


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Turn aiohttp's HTTP exceptions into JSON bodies; log and answer 500 on a real bug."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        headers = {
            k: v for k, v in exc.headers.items() if k.lower() in ("allow", "www-authenticate")
        }
        return json_error(exc.status, exc.reason.lower(), headers)
    except Exception:
        log.exception("API handler failed", extra={"fields": {"path": request.path}})
        return json_error(500, "internal error")
