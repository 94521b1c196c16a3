"""Read the API token file; the gossip key file is read by mesh.keyfile (shared with the
library's ``Mesh(key=PATH)``), re-exported here."""

from __future__ import annotations

from pathlib import Path

from mesh.keyfile import KEY_SIZES, load_keyring, read_keys
from mesh.setup_errors import ConfigError

__all__ = ["KEY_SIZES", "load_keyring", "read_keys", "read_token"]

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
