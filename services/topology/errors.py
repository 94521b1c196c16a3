"""Errors that name the offending field: a malformed value, or a refused store operation."""


class ValidationError(ValueError):
    """A field of a topology object is missing, unknown or malformed."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class StoreError(Exception):
    """A topology store operation refused: `status` says why the way HTTP does (400
    invalid, 404 no such object, 409 conflicts with other objects), so the API answers with
    it as is; `field` is the one to blame, when there is one."""

    def __init__(self, status: int, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.field = field

    def body(self) -> dict[str, str]:
        """``{"error": ..., "field": ...}``."""
        out = {"error": self.message}
        if self.field is not None:
            out["field"] = self.field
        return out
