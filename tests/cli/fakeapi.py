"""A small real aiohttp server implementing meshd's API routes, run on a background thread,
so meshctl can be tested (in-process or as a subprocess) against real HTTP."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

MEMBERS = [
    {
        "id": "host-b",
        "state": "suspect",
        "gossip": "10.0.0.2:7947",
        "underlay": "10.0.0.2",
        "api": None,
        "incarnation": 3,
    },
    {
        "id": "host-a",
        "state": "alive",
        "gossip": "10.0.0.1:7947",
        "underlay": "10.0.0.1",
        "api": "127.0.0.1:7946",
        "incarnation": 1,
    },
]

METRICS = """# HELP mesh_messages_total Messages by kind.
# TYPE mesh_messages_total counter
mesh_messages_total{kind="ping"} 12.0
mesh_messages_total{kind="ack"} 11.0
# HELP mesh_members Members by state.
# TYPE mesh_members gauge
mesh_members{state="alive"} 2.0
"""

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def err(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


@dataclass
class FakeState:
    kv: dict[str, Any] = field(default_factory=dict)
    widgets: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[tuple[str, str, str | None]] = field(default_factory=list)
    next_id: int = 1

    def reset(self) -> None:
        self.kv.clear()
        self.widgets.clear()
        self.requests.clear()
        self.next_id = 1


def make_app(state: FakeState, token: str | None) -> web.Application:
    @web.middleware
    async def record_and_auth(request: web.Request, handler: Handler) -> web.StreamResponse:
        state.requests.append((request.method, request.path, request.headers.get("Authorization")))
        authorized = request.headers.get("Authorization") == f"Bearer {token}"
        if token is not None and request.path != "/healthz" and not authorized:
            return err(401, "missing or bad bearer token")
        return await handler(request)

    async def body_json(request: web.Request) -> Any:
        try:
            return json.loads(await request.read())
        except ValueError:
            raise web.HTTPBadRequest(
                text=json.dumps({"error": "malformed JSON"}), content_type="application/json"
            ) from None

    async def healthz(_r: web.Request) -> web.Response:
        return web.json_response({"status": "ok", "id": "host-a", "alive_members": 1})

    async def members(_r: web.Request) -> web.Response:
        return web.json_response(sorted(MEMBERS, key=lambda m: m["id"]))

    async def metrics(_r: web.Request) -> web.Response:
        return web.Response(text=METRICS, content_type="text/plain")

    async def kv_all(_r: web.Request) -> web.Response:
        return web.json_response(state.kv)

    async def kv_get(r: web.Request) -> web.Response:
        key = r.match_info["key"]
        if key not in state.kv:
            return err(404, "no such key")
        return web.json_response(state.kv[key])

    async def kv_put(r: web.Request) -> web.Response:
        key = r.match_info["key"]
        if len(key) > 256:
            return err(400, "key longer than 256 bytes")
        value = await body_json(r)
        state.kv[key] = value
        return web.json_response({"key": key, "value": value})

    async def kv_delete(r: web.Request) -> web.Response:
        key = r.match_info["key"]
        if key not in state.kv:
            return err(404, "no such key")
        del state.kv[key]
        return web.Response(status=204)

    async def widgets_list(_r: web.Request) -> web.Response:
        return web.json_response(list(state.widgets.values()))

    async def widgets_create(r: web.Request) -> web.Response:
        body = await body_json(r)
        if not isinstance(body, dict) or "name" not in body:
            return err(400, "a widget needs a name")
        wid = f"w{state.next_id}"
        state.next_id += 1
        state.widgets[wid] = {"id": wid, **body}
        return web.json_response(state.widgets[wid], status=201)

    async def widgets_show(r: web.Request) -> web.Response:
        w = state.widgets.get(r.match_info["id"])
        return web.json_response(w) if w else err(404, "no such widget")

    async def widgets_patch(r: web.Request) -> web.Response:
        w = state.widgets.get(r.match_info["id"])
        if not w:
            return err(404, "no such widget")
        w.update(await body_json(r))
        return web.json_response(w)

    async def widgets_delete(r: web.Request) -> web.Response:
        if state.widgets.pop(r.match_info["id"], None) is None:
            return err(404, "no such widget")
        return web.Response(status=204)

    async def boom(_r: web.Request) -> web.Response:
        return web.Response(status=500, text="Internal Server Error")

    async def not_json(_r: web.Request) -> web.Response:
        return web.Response(text="<html>surprise</html>", content_type="text/html")

    app = web.Application(middlewares=[record_and_auth])
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/v1/members", members)
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/v1/kv", kv_all)
    app.router.add_get("/v1/kv/{key:[\\s\\S]+}", kv_get)
    app.router.add_put("/v1/kv/{key:[\\s\\S]+}", kv_put)
    app.router.add_delete("/v1/kv/{key:[\\s\\S]+}", kv_delete)
    app.router.add_get("/v1/widgets", widgets_list)
    app.router.add_post("/v1/widgets", widgets_create)
    app.router.add_get("/v1/widgets/{id}", widgets_show)
    app.router.add_patch("/v1/widgets/{id}", widgets_patch)
    app.router.add_delete("/v1/widgets/{id}", widgets_delete)
    app.router.add_get("/v1/crashy", boom)
    app.router.add_get("/v1/weird", not_json)
    return app


class FakeApi:
    """Runs make_app() on 127.0.0.1 (a free port) in a thread with its own event loop."""

    def __init__(self, token: str | None = None) -> None:
        self.state = FakeState()
        self.token = token
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._runner: web.AppRunner | None = None
        self._thread = threading.Thread(target=self._run, name="fakeapi", daemon=True)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> FakeApi:
        self._thread.start()
        if not self._ready.wait(30):
            raise RuntimeError("fake API did not start")
        return self

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._start())
        self._ready.set()
        self._loop.run_forever()

    async def _start(self) -> None:
        self._runner = web.AppRunner(make_app(self.state, self.token))
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    def stop(self) -> None:
        async def cleanup() -> None:
            if self._runner is not None:
                await self._runner.cleanup()

        asyncio.run_coroutine_threadsafe(cleanup(), self._loop).result(30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(30)
