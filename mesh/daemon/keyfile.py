"""Read the gossip key file and the API token file.

Key file format: one base64-encoded AES key (16, 24 or 32 bytes) per line; the first key is
the primary (used to encrypt), the others are only tried on decrypt (rotation). Blank lines
and lines starting with ``#`` are ignored.
"""

from __future__ import annotations

import base64
import binascii
from pathlib import Path

from mesh.daemon.config import ConfigError
from mesh.keyring import Keyring

KEY_SIZES = (16, 24, 32)


def read_keys(path: Path) -> list[bytes]:
    """Parse the key file; ConfigError with the line number on any bad line."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"key file {path}: cannot read: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"key file {path}: not UTF-8 text") from exc
    keys: list[bytes] = []
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        try:
            key = base64.b64decode(line, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ConfigError(f"key file {path}:{lineno}: not base64") from exc
        if len(key) not in KEY_SIZES:
            raise ConfigError(
                f"key file {path}:{lineno}: key is {len(key)} bytes, expected 16, 24 or 32"
            )
        keys.append(key)
    if not keys:
        raise ConfigError(f"key file {path}: no keys")
    return keys


def load_keyring(path: Path) -> Keyring:
    """Build the core's Keyring (first key primary) from the key file."""
    keys = read_keys(path)
    return Keyring(keys[0], keys[1:])


def read_token(path: Path) -> str:
    """The API bearer token: the file's content, stripped; it must not be empty."""
    try:
        token = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError(f"api token file {path}: cannot read: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"api token file {path}: not UTF-8 text") from exc
    if not token:
        raise ConfigError(f"api token file {path}: empty")
    if any(not c.isprintable() or c.isspace() for c in token):
        raise ConfigError(f"api token file {path}: token must be one printable word")
    return token
