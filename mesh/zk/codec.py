"""Encoding of the data stored in znodes: compact JSON objects, readable with zkCli.

Decoders accept any bytes and either return a value or raise ZkDataError: foreign or
corrupt znode content must never crash a watcher.
"""

import json
import math
from dataclasses import dataclass
from typing import Any

from mesh.zk.errors import ZkDataError

MAX_DATA = 1 << 20  # ZooKeeper's default jute.maxbuffer (1 MiB) bounds a znode's data


def encode_meta(meta: dict[str, Any]) -> bytes:
    """Member metadata as JSON bytes (ValueError if not JSON-encodable or too big)."""
    try:
        data = json.dumps(meta, separators=(",", ":"), sort_keys=True, allow_nan=False).encode()
    except (TypeError, ValueError) as e:
        raise ValueError(f"member metadata is not JSON-encodable: {e}") from e
    if len(data) > MAX_DATA:
        raise ValueError(f"member metadata too large ({len(data)} bytes)")
    return data


def _load_object(data: bytes, what: str) -> dict[str, Any]:
    if not isinstance(data, bytes | bytearray) or len(data) > MAX_DATA:
        raise ZkDataError(f"{what}: not bytes or too large")
    try:
        value = json.loads(bytes(data).decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as e:
        raise ZkDataError(f"{what}: not JSON ({type(e).__name__})") from e
    if not isinstance(value, dict):
        raise ZkDataError(f"{what}: JSON {type(value).__name__}, expected an object")
    return value


def decode_meta(data: bytes) -> dict[str, Any]:
    """Member metadata from znode bytes (ZkDataError if not a JSON object)."""
    return _load_object(data, "member metadata")


@dataclass(frozen=True, slots=True)
class LeaseRecord:
    """What a lease znode records: who holds it, its TTL, and (for people) a wall-clock expiry.

    The authoritative expiry is the znode's mtime (ZooKeeper's clock) plus ttl.
    """

    holder: str
    ttl: float
    expires_at: float


def encode_lease(rec: LeaseRecord) -> bytes:
    return json.dumps(
        {"holder": rec.holder, "ttl": rec.ttl, "expires_at": rec.expires_at},
        separators=(",", ":"),
        sort_keys=True,
    ).encode()


def decode_lease(data: bytes) -> LeaseRecord:
    """A lease record from znode bytes (ZkDataError if malformed)."""
    obj = _load_object(data, "lease record")
    holder, ttl, exp = obj.get("holder"), obj.get("ttl"), obj.get("expires_at")
    if not isinstance(holder, str):
        raise ZkDataError("lease record: holder is not a string")
    for field, v in (("ttl", ttl), ("expires_at", exp)):
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
            raise ZkDataError(f"lease record: {field} is not a finite number")
    assert isinstance(ttl, int | float) and isinstance(exp, int | float)
    if ttl <= 0:
        raise ZkDataError("lease record: ttl must be positive")
    return LeaseRecord(holder, float(ttl), float(exp))


def lease_expired(mtime_ms: int, ttl: float, server_now_ms: int) -> bool:
    """True when a lease last written at mtime_ms (server clock) is past its TTL at server_now."""
    return server_now_ms >= mtime_ms + math.ceil(ttl * 1000)
