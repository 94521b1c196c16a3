"""Length-prefixed frames for TCP streams: a 4-byte big-endian length, then the payload.

Sizes are bounded so that a peer cannot make us allocate more than ``max_bytes``.
"""

from __future__ import annotations

import asyncio
import struct

_HEADER = struct.Struct(">I")


class FrameError(ValueError):
    """A frame that is oversized or cut short."""


async def read_frame(reader: asyncio.StreamReader, max_bytes: int) -> bytes:
    """Read one frame; raise FrameError when it is larger than ``max_bytes`` or truncated."""
    try:
        header = await reader.readexactly(_HEADER.size)
    except asyncio.IncompleteReadError as exc:
        raise FrameError("stream closed before frame header") from exc
    (length,) = _HEADER.unpack(header)
    if length > max_bytes:
        raise FrameError(f"frame of {length} bytes exceeds limit {max_bytes}")
    try:
        return await reader.readexactly(length)
    except asyncio.IncompleteReadError as exc:
        raise FrameError("stream closed inside a frame") from exc


def encode_frame(payload: bytes) -> bytes:
    """Prefix ``payload`` with its length."""
    return _HEADER.pack(len(payload)) + payload
