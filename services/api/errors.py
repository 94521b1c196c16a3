"""API errors: an HTTP status, a message and (when one is to blame) the field."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """Raised by the store; the HTTP layer turns it into a JSON error body."""

    def __init__(self, status: int, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.field = field

    def body(self) -> dict[str, Any]:
        """``{"error": ..., "field": ...}``."""
        out: dict[str, Any] = {"error": self.message}
        if self.field is not None:
            out["field"] = self.field
        return out
