"""Validation of client input for the kv table: keys, and JSON values the mesh can carry."""

from __future__ import annotations

import json
from typing import Any

MAX_KEY_BYTES = 256
MAX_DEPTH = 32
INT_MIN = -(2**63)
INT_MAX = 2**64 - 1


class BadInput(ValueError):
    """Client input that the API refuses with 400."""


def check_key(key: str) -> str:
    """Keys: 1..256 UTF-8 bytes of printable characters."""
    if not key:
        raise BadInput("empty key")
    try:
        size = len(key.encode("utf-8"))
    except UnicodeEncodeError as exc:
        raise BadInput("key is not valid UTF-8") from exc
    if size > MAX_KEY_BYTES:
        raise BadInput(f"key longer than {MAX_KEY_BYTES} bytes")
    if not key.isprintable():
        raise BadInput("key contains non-printable characters")
    return key


def _reject_constant(name: str) -> Any:
    raise BadInput(f"{name} is not valid JSON")


def parse_value(body: bytes) -> Any:
    """Parse a JSON body into a value msgpack can carry (finite floats, 64-bit ints, UTF-8)."""
    if not body.strip():
        raise BadInput("empty body: expected a JSON value")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadInput("body is not UTF-8") from exc
    try:
        value = json.loads(text, parse_constant=_reject_constant)
    except BadInput:
        raise
    except (ValueError, RecursionError) as exc:
        raise BadInput(f"malformed JSON: {exc}"[:200]) from exc
    _check(value, 0)
    return value


def _check(value: Any, depth: int) -> None:
    if isinstance(value, list | dict) and depth >= MAX_DEPTH:
        raise BadInput(f"JSON nested deeper than {MAX_DEPTH}")
    if isinstance(value, bool) or value is None:
        return
    if isinstance(value, int):
        if not INT_MIN <= value <= INT_MAX:
            raise BadInput("integer out of 64-bit range")
    elif isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise BadInput("number out of range")
    elif isinstance(value, str):
        _check_str(value)
    elif isinstance(value, list):
        for item in value:
            _check(item, depth + 1)
    elif isinstance(value, dict):
        for k, item in value.items():
            _check_str(k)
            _check(item, depth + 1)
    else:  # pragma: no cover - json.loads yields nothing else
        raise BadInput(f"unsupported value type {type(value).__name__}")


def _check_str(text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise BadInput("string is not valid UTF-8 (lone surrogate)") from exc
