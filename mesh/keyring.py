"""AES-GCM keyring: seal with the primary key, open with any installed key (rotation)."""

from __future__ import annotations

import os
from collections.abc import Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from mesh.errors import AuthError

NONCE_SIZE = 12
TAG_SIZE = 16
OVERHEAD = NONCE_SIZE + TAG_SIZE
"""Bytes a sealed payload adds to its plaintext."""
_KEY_SIZES = (16, 24, 32)


def _check(key: bytes) -> bytes:
    if not isinstance(key, bytes | bytearray) or len(key) not in _KEY_SIZES:
        raise ValueError("keys must be 16, 24 or 32 bytes (AES-128/192/256)")
    return bytes(key)


class Keyring:
    """Symmetric keys of a mesh. Rotate without downtime: install(new) everywhere, then
    use(new) everywhere, then remove(old) everywhere."""

    def __init__(self, primary: bytes, others: Sequence[bytes] = ()) -> None:
        self._keys: list[bytes] = []
        self._aead: dict[bytes, AESGCM] = {}
        for key in others:
            self.install(key)
        self.install(primary)
        self.use(primary)

    @property
    def primary(self) -> bytes:
        """The key used to seal."""
        return self._keys[0]

    @property
    def keys(self) -> list[bytes]:
        """All installed keys, primary first."""
        return list(self._keys)

    def install(self, key: bytes) -> None:
        """Accept `key` for opening (does not change the primary)."""
        key = _check(key)
        if key not in self._aead:
            self._keys.append(key)
            self._aead[key] = AESGCM(key)

    def use(self, key: bytes) -> None:
        """Make an installed key the primary (sealing) key."""
        key = _check(key)
        if key not in self._aead:
            raise KeyError("key is not installed")
        self._keys.remove(key)
        self._keys.insert(0, key)

    def remove(self, key: bytes) -> None:
        """Stop accepting `key`; the primary key cannot be removed."""
        key = _check(key)
        if key == self._keys[0]:
            raise ValueError("cannot remove the primary key; use() another one first")
        if key in self._aead:
            self._keys.remove(key)
            del self._aead[key]

    def seal(self, plain: bytes) -> bytes:
        """nonce (12 random bytes) || AES-GCM(primary, nonce, plain) with its 16-byte tag."""
        nonce = os.urandom(NONCE_SIZE)
        return nonce + self._aead[self._keys[0]].encrypt(nonce, plain, None)

    def open(self, sealed: bytes) -> bytes:
        """Decrypt with the primary, then every other key; AuthError if none opens it."""
        if len(sealed) < OVERHEAD:
            raise AuthError("sealed payload too short")
        nonce, body = sealed[:NONCE_SIZE], sealed[NONCE_SIZE:]
        for key in self._keys:
            try:
                return self._aead[key].decrypt(nonce, body, None)
            except InvalidTag:
                continue
        raise AuthError("no installed key opens this payload")
