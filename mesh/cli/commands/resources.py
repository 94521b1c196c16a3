"""REST resource kinds served by meshd or its extensions, each a generated command group
(`meshctl <kind> list|show|create|update|delete`). Later issues add their kinds here, e.g.
ResourceSpec("bridges", (("ID", "id"), ("NAME", "name"), ("TENANT", "tenant")))."""

from mesh.cli.parser import SubCommands
from mesh.cli.resource import ResourceSpec, register_resource

RESOURCES: list[ResourceSpec] = []


def register(sub: SubCommands) -> None:
    for spec in RESOURCES:
        register_resource(sub, spec)
