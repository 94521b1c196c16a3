"""Delta-state CRDTs with causal contexts, and their deterministic msgpack codec.

Mutators take the acting replica id first and return a delta without changing the receiver;
`a.join(b)` returns the least upper bound, `a.apply(d)` joins in place. See docs/crdt.md.
"""

__version__ = "0.1.0"

from crdt.awset import AWSet
from crdt.base import CRDT, TypeKind
from crdt.codec import decode, encode
from crdt.context import CausalContext
from crdt.dot import Dot
from crdt.errors import DecodeError
from crdt.ewflag import EWFlag
from crdt.gcounter import GCounter
from crdt.hlc import HLC, Timestamp, clock_for, reset_clocks, set_physical_clock
from crdt.lwwregister import LWWRegister
from crdt.mvregister import MVRegister
from crdt.ormap import ORMap
from crdt.pncounter import PNCounter

__all__ = [
    "CRDT",
    "HLC",
    "AWSet",
    "CausalContext",
    "DecodeError",
    "Dot",
    "EWFlag",
    "GCounter",
    "LWWRegister",
    "MVRegister",
    "ORMap",
    "PNCounter",
    "Timestamp",
    "TypeKind",
    "__version__",
    "clock_for",
    "decode",
    "encode",
    "reset_clocks",
    "set_physical_clock",
]
