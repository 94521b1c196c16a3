"""meshctl commands for the network extension (topology kinds, port links, trace), added to
meshctl through the entry point group ``vnetmesh.meshctl`` (mesh/ never imports services/)."""

from __future__ import annotations

from mesh.cli.parser import SubCommands
from services.cli import resources, trace


def register(sub: SubCommands) -> None:
    """Entry point ``vnetmesh.meshctl`` -> ``network``."""
    resources.register(sub)
    trace.register(sub)
