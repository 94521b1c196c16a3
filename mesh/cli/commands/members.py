"""`meshctl members`: the member list of the mesh as seen by one meshd."""

from __future__ import annotations

import argparse

from mesh.cli.errors import ApiError
from mesh.cli.parser import Context, SubCommands

COLUMNS = (
    ("ID", "id"),
    ("STATE", "state"),
    ("GOSSIP", "gossip"),
    ("UNDERLAY", "underlay"),
    ("API", "api"),
    ("INCARNATION", "incarnation"),
)
STATES = ("alive", "suspect", "dead", "left")


def register(sub: SubCommands) -> None:
    p = sub.add("members", "list the members of the mesh", run)
    p.add_argument("--state", choices=STATES, action="append", help="only members in STATE")


def run(ctx: Context, args: argparse.Namespace) -> int:
    resp = ctx.api.get("/v1/members")
    body = resp.json()
    if not isinstance(body, list) or not all(isinstance(m, dict) for m in body):
        raise ApiError(resp.status, "unexpected /v1/members answer: not a list of objects")
    if args.state:
        body = [m for m in body if m.get("state") in args.state]
    ctx.out.rows(body, COLUMNS)
    return 0
