"""Errors a :class:`mesh.Mesh` raises at its user while being set up: a bad argument or
configuration value (naming the field), a gossip address that cannot be bound, and a wait
for replication that ran out of time. Input from peers never raises; it is counted."""

from __future__ import annotations

from mesh.errors import MeshError


class ConfigError(MeshError, ValueError):
    """A bad configuration value. ``field`` names it (``"bind"``, ``"key"``,
    ``"config.gossip_interval"``...); the message starts with it too."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class BindError(MeshError, OSError):
    """The gossip address could not be bound (in use, not an address of this host, ...)."""

    def __init__(self, address: str, reason: str, errno: int | None = None) -> None:
        super().__init__(f"cannot bind {address}: {reason}")
        self.address = address
        self.reason = reason
        if errno is not None:
            self.errno = errno


class ReplicationTimeout(MeshError, TimeoutError):
    """``wait_replicated(n)`` ran out of time: fewer than ``wanted`` other members were
    known to hold the writes. The writes stay applied (and durable) locally and keep
    spreading; only the extra guarantee was not reached in time."""

    def __init__(self, held: int, wanted: int, timeout: float) -> None:
        super().__init__(f"{held} of {wanted} other members held the writes within {timeout:g}s")
        self.held = held
        self.wanted = wanted
        self.timeout = timeout
