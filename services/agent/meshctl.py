"""meshctl commands of the agent (entry point group ``vnetmesh.meshctl``): ``meshctl flows``
lists the installed flows of one host, ``meshctl agent`` its bindings and counters."""

from __future__ import annotations

import argparse
from typing import Any

from mesh.cli.parser import Context, SubCommands

_COLUMNS = (("PKTS", "packets"), ("MATCH", "match"), ("ACTIONS", "actions"), ("TTL", "expires_in"))


def register(sub: SubCommands) -> None:
    """Add ``flows`` and ``agent``."""
    sub.add("flows", "list the datapath flows installed on this host", _flows)
    sub.add("agent", "show the packet path: backend, bindings, counters", _agent)


def _flows(ctx: Context, args: argparse.Namespace) -> int:
    body: Any = ctx.api.get("/v1/flows").json()
    if ctx.out.json or not isinstance(body, list):
        ctx.out.data(body)
    else:
        ctx.out.rows(body, _COLUMNS)
    return 0


def _agent(ctx: Context, args: argparse.Namespace) -> int:
    body: Any = ctx.api.get("/v1/agent").json()
    if isinstance(body, dict) and not ctx.out.json:
        ctx.out.record(body)
    else:
        ctx.out.data(body)
    return 0
