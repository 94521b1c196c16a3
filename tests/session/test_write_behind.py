"""The write-behind queue: bounded, re-offers replace in place, oldest first out."""

from __future__ import annotations

import pytest

from services.session.entries import ConnEntry, SessionPorts
from services.session.keys import ConnKey, FlowTuple
from services.session.write_behind import WriteBehindQueue

P = "00000000-0000-4000-8000-000000000001"
Q = "00000000-0000-4000-8000-000000000002"


def e(i: int, port: str = P) -> ConnEntry:
    return ConnEntry(ConnKey(P, FlowTuple(6, 1, i, 2, 80)), SessionPorts(port))


def test_bound_and_order() -> None:
    q = WriteBehindQueue(3)
    assert q.offer([e(1), e(2), e(3), e(4)]) == 3
    assert len(q) == 3
    assert q.offer([e(2, Q)]) == 1  # full, but a re-offer replaces in place
    assert q.take(2) == [e(1), e(2, Q)]
    assert q.offer([e(5), e(6)]) == 2
    assert q.take(10) == [e(3), e(5), e(6)]
    assert q.take(1) == []


def test_needs_a_positive_bound() -> None:
    with pytest.raises(ValueError):
        WriteBehindQueue(0)
