"""A dot: one event, named by the replica that made it and that replica's event counter."""

from typing import NamedTuple


class Dot(NamedTuple):
    """Event `counter` (1, 2, ...) of replica `replica`; unique across the whole system."""

    replica: str
    counter: int
