"""What the sans-IO core asks its shell to do: send a datagram or open a request/response stream."""

from __future__ import annotations

from dataclasses import dataclass

from mesh.address import Address


@dataclass(frozen=True, slots=True)
class SendDatagram:
    """Send `payload` over UDP to `dst`; the core keeps len(payload) <= config.mtu."""

    dst: Address
    payload: bytes


@dataclass(frozen=True, slots=True)
class OpenStream:
    """Open a TCP stream to `dst`, send `request`, and hand the reply (or None on failure)
    back through MeshNode.handle_stream_response(now, stream_id, reply)."""

    dst: Address
    request: bytes
    stream_id: int


Output = SendDatagram | OpenStream
