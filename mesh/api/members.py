"""GET /v1/members and GET /healthz."""

from __future__ import annotations

from aiohttp import web

from mesh.api.state import api_state
from mesh.member import Member, MemberState
from mesh.transport.address import format_address


def member_json(member: Member) -> dict[str, str | int | None]:
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
    state = api_state(request)
    members = sorted(state.node.members(), key=lambda m: m.meta.host_id)
    body = [member_json(m) for m in members]
    return web.json_response(body)


async def healthz(request: web.Request) -> web.Response:
    state = api_state(request)
    alive = sum(1 for m in state.node.members() if m.state is MemberState.ALIVE)
    return web.json_response({"status": "ok", "id": state.host_id, "alive_members": alive})
