"""GET /v1/members and GET /healthz."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from mesh.transport.address import format_address


def member_json(member: Any) -> dict[str, Any]:
    """One member as JSON: id, state, gossip, underlay, api, incarnation."""
    meta = member.meta
    return {
        "id": meta.host_id,
        "state": member.state.value,
        "gossip": format_address(meta.gossip),
        "underlay": meta.underlay,
        "api": format_address(meta.api) if meta.api is not None else None,
        "incarnation": member.incarnation,
    }


async def list_members(request: web.Request) -> web.Response:
    from mesh.api.app import STATE

    state = request.app[STATE]
    body = sorted((member_json(m) for m in state.node.members()), key=lambda m: m["id"])
    return web.json_response(body)


async def healthz(request: web.Request) -> web.Response:
    from mesh.api.app import STATE

    state = request.app[STATE]
    alive = sum(1 for m in state.node.members() if m.state.value == "alive")
    return web.json_response({"status": "ok", "id": state.host_id, "alive_members": alive})
