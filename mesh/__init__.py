"""The state mesh: gossip membership, anti-entropy replication of CRDT tables, ZooKeeper
membership and leases, and the meshd daemon. Imports crdt only.

The sans-IO core's public names are importable from here (`mesh.MeshNode`, `mesh.Table`,
...); they load lazily, so `import mesh.cli` stays light."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mesh.config import MeshConfig
    from mesh.errors import AuthError, MessageError
    from mesh.events import MemberChanged, TableChanged
    from mesh.keyring import Keyring
    from mesh.member import Member, MemberMeta, MemberState
    from mesh.metrics import Metrics
    from mesh.node import MeshNode
    from mesh.outputs import OpenStream, SendDatagram
    from mesh.table import Table

_EXPORTS = {
    "MeshConfig": "mesh.config",
    "AuthError": "mesh.errors",
    "MessageError": "mesh.errors",
    "MemberChanged": "mesh.events",
    "TableChanged": "mesh.events",
    "Keyring": "mesh.keyring",
    "Member": "mesh.member",
    "MemberMeta": "mesh.member",
    "MemberState": "mesh.member",
    "Metrics": "mesh.metrics",
    "MeshNode": "mesh.node",
    "OpenStream": "mesh.outputs",
    "SendDatagram": "mesh.outputs",
    "Table": "mesh.table",
}

__all__ = [
    "AuthError",
    "Keyring",
    "Member",
    "MemberChanged",
    "MemberMeta",
    "MemberState",
    "MeshConfig",
    "MeshNode",
    "MessageError",
    "Metrics",
    "OpenStream",
    "SendDatagram",
    "Table",
    "TableChanged",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'mesh' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
