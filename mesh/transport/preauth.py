"""Does a stream's first frame open with our keyring? (pure; checked before a serving slot)

Only the seal is checked (header, then AES-GCM with every installed key); parsing stays in
the core, which opens the frame again and counts what is wrong with it.
"""

from __future__ import annotations

from mesh.codec import FLAG_SEALED, HEADER_SIZE, VERSION
from mesh.errors import AuthError
from mesh.keyring import Keyring


def opens(frame: bytes, keyring: Keyring | None) -> bool:
    """True when ``frame`` is a sealed envelope that one of our keys opens, or when no key
    is configured (then nothing can be checked before parsing)."""
    if keyring is None:
        return True
    if len(frame) < HEADER_SIZE or frame[0] != VERSION or frame[1] != FLAG_SEALED:
        return False
    try:
        keyring.open(frame[HEADER_SIZE:])
    except AuthError:
        return False
    return True
