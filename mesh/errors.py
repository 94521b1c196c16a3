"""Errors raised by the mesh core on bad input; the node catches them, counts and logs them."""


class MeshError(Exception):
    """Base class of mesh errors."""


class MessageError(MeshError, ValueError):
    """Input that cannot be decoded: malformed, truncated, oversized, wrong version."""


class AuthError(MessageError):
    """A sealed payload that no installed key opens (wrong key, tampered, or not sealed).

    A subclass of MessageError so that "any bad input" is one except clause."""
