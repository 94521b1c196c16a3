"""The state mesh: gossip membership, anti-entropy replication of CRDT tables, ZooKeeper
membership and leases, and the meshd daemon. Imports crdt only.

The front door is :class:`mesh.Mesh` (docs/library.md); the sans-IO core's names are here
too (`mesh.MeshNode`, `mesh.Table`, ...). They load lazily, so `import mesh.cli` stays
light."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from mesh.config import MeshConfig
    from mesh.errors import AuthError, MeshError, MessageError
    from mesh.events import MemberChanged, TableChanged
    from mesh.keyring import Keyring
    from mesh.member import Member, MemberMeta, MemberState
    from mesh.mesh import Mesh
    from mesh.metrics import Metrics
    from mesh.node import MeshNode
    from mesh.outputs import OpenStream, SendDatagram
    from mesh.replicated_table import NotStarted, ReplicatedTable
    from mesh.setup_errors import BindError, ConfigError, ReplicationTimeout
    from mesh.table import Table
    from mesh.wal import WalError

_EXPORTS = {
    "MeshConfig": "mesh.config",
    "AuthError": "mesh.errors",
    "MeshError": "mesh.errors",
    "MessageError": "mesh.errors",
    "MemberChanged": "mesh.events",
    "TableChanged": "mesh.events",
    "Keyring": "mesh.keyring",
    "Member": "mesh.member",
    "MemberMeta": "mesh.member",
    "MemberState": "mesh.member",
    "Mesh": "mesh.mesh",
    "NotStarted": "mesh.replicated_table",
    "ReplicatedTable": "mesh.replicated_table",
    "BindError": "mesh.setup_errors",
    "ConfigError": "mesh.setup_errors",
    "ReplicationTimeout": "mesh.setup_errors",
    "WalError": "mesh.wal",
    "Metrics": "mesh.metrics",
    "MeshNode": "mesh.node",
    "OpenStream": "mesh.outputs",
    "SendDatagram": "mesh.outputs",
    "Table": "mesh.table",
}

__all__ = [
    "AuthError",
    "BindError",
    "ConfigError",
    "Keyring",
    "Member",
    "MemberChanged",
    "MemberMeta",
    "MemberState",
    "Mesh",
    "MeshConfig",
    "MeshError",
    "MeshNode",
    "MessageError",
    "Metrics",
    "NotStarted",
    "OpenStream",
    "ReplicatedTable",
    "ReplicationTimeout",
    "SendDatagram",
    "Table",
    "TableChanged",
    "WalError",
    "__version__",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'mesh' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
