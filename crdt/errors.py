"""The one exception the codec raises for bad input."""


class DecodeError(ValueError):
    """Raised by `crdt.decode` for malformed, oversized or otherwise invalid input."""
