"""asyncio shell around the sans-IO MeshNode: UDP datagrams, TCP streams, the tick loop."""

from mesh.transport.address import AddressError, format_address, parse_address
from mesh.transport.driver import NodeDriver, TransportSettings

__all__ = [
    "AddressError",
    "NodeDriver",
    "TransportSettings",
    "format_address",
    "parse_address",
]
