"""API errors: an HTTP status, a message and (when one is to blame) the field.

The store raises the same type (services/topology/errors.py), so a refused write answers
with the store's status unchanged.
"""

from __future__ import annotations

from services.topology.errors import StoreError

ApiError = StoreError

__all__ = ["ApiError"]
