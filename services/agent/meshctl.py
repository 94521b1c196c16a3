"""meshctl commands of the agent (entry point group ``vnetmesh.meshctl``): ``meshctl flows``
lists the installed flows of one host, ``meshctl agent`` its bindings and counters."""

from __future__ import annotations

import argparse

from mesh.cli.parser import Context, SubCommands

_COLUMNS = (("PKTS", "packets"), ("MATCH", "match"), ("ACTIONS", "actions"), ("TTL", "expires_in"))


def register(sub: SubCommands) -> None:
    """Add ``flows`` and ``agent``."""
    sub.add("flows", "list the datapath flows installed on this host", _flows)
    sub.add("agent", "show the packet path: backend, bindings, counters", _agent)


def _flows(ctx: Context, args: argparse.Namespace) -> int:
    body: object = ctx.api.get("/v1/flows").json()
    rows = _objects(body)
    if ctx.out.json or rows is None:
        ctx.out.data(body)
    else:
        ctx.out.rows(rows, _COLUMNS)
    return 0


def _agent(ctx: Context, args: argparse.Namespace) -> int:
    body: object = ctx.api.get("/v1/agent").json()
    if isinstance(body, dict) and not ctx.out.json:
        ctx.out.record(_object(body))
    else:
        ctx.out.data(body)
    return 0


def _object(value: dict[object, object]) -> dict[str, object]:
    """A JSON object (its keys are strings)."""
    return {str(k): v for k, v in value.items()}


def _objects(value: object) -> list[dict[str, object]] | None:
    """A JSON list of objects, or None if `value` is anything else."""
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        return None
    return [_object(v) for v in value if isinstance(v, dict)]
