"""Gossip key files: one base64-encoded AES key (16, 24 or 32 bytes) per line; the first is
the primary (used to seal), the others are only tried to open (rotation). Blank lines and
lines starting with ``#`` are ignored."""

from __future__ import annotations

import base64
import binascii
from pathlib import Path

from mesh.keyring import Keyring
from mesh.setup_errors import ConfigError

KEY_SIZES = (16, 24, 32)


def read_keys(path: Path, *, field: str = "key_file") -> list[bytes]:
    """Parse the key file; ConfigError (naming the file and line) on any bad line."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            f"key file {path}: cannot read: {exc.strerror or exc}", field=field
        ) from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"key file {path}: not UTF-8 text", field=field) from exc
    keys: list[bytes] = []
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        try:
            key = base64.b64decode(line, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ConfigError(f"key file {path}:{lineno}: not base64", field=field) from exc
        if len(key) not in KEY_SIZES:
            raise ConfigError(
                f"key file {path}:{lineno}: key is {len(key)} bytes, expected 16, 24 or 32",
                field=field,
            )
        keys.append(key)
    if not keys:
        raise ConfigError(f"key file {path}: no keys", field=field)
    return keys


def load_keyring(path: Path, *, field: str = "key_file") -> Keyring:
    """The core's Keyring (first key primary) from a key file."""
    keys = read_keys(path, field=field)
    return Keyring(keys[0], keys[1:])
