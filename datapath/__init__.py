"""The fast path: flow keys/masks/actions, a kernel (OVS netlink) and a userspace backend.

Imports nothing else of ours. ``create_datapath`` picks the backend.
"""

from datapath.api import Datapath, DatapathError, PortType, Upcall, UpcallKind
from datapath.factory import create_datapath, kernel_available

__all__ = [
    "Datapath",
    "DatapathError",
    "PortType",
    "Upcall",
    "UpcallKind",
    "create_datapath",
    "kernel_available",
]
