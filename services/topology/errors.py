"""Validation errors that name the offending field (the API turns them into 400s)."""


class ValidationError(ValueError):
    """A field of a topology object is missing, unknown or malformed."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
