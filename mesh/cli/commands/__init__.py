"""meshctl's commands. Each module has `register(sub: SubCommands)`; add new ones to
COMMANDS, or describe a REST resource kind in resources.RESOURCES (no code needed)."""

from collections.abc import Callable

from mesh.cli.commands import health, kv, members, metrics, resources
from mesh.cli.parser import SubCommands

COMMANDS: list[Callable[[SubCommands], None]] = [
    members.register,
    kv.register,
    health.register,
    metrics.register,
    resources.register,
]
