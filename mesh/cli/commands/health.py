"""`meshctl health`: meshd's /healthz (exit 0 if healthy, 1 if not or unreachable)."""

from __future__ import annotations

import argparse

from mesh.cli.output import cell
from mesh.cli.parser import Context, SubCommands


def register(sub: SubCommands) -> None:
    sub.add("health", "check that meshd is up and healthy", run)


def run(ctx: Context, args: argparse.Namespace) -> int:
    resp = ctx.api.get("/healthz")
    try:
        body = resp.json()
    except Exception:
        body = resp.text().strip()
    if ctx.out.json and not isinstance(body, dict):
        ctx.out.data(body)
    elif isinstance(body, dict):
        ctx.out.record(body)
    else:
        ctx.out.line(cell(body))
    return 0
