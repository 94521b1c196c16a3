"""State packets counted at both ends; bad ones counted by reason, logged, never raised."""

from __future__ import annotations

import logging

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.session.entries import SessionPorts
from services.session.keys import ConnKey, FlowTuple
from services.session.state_channel import StateChannel
from services.session.wire import StateMessage

P = "00000000-0000-4000-8000-000000000001"
MSG = StateMessage(SessionPorts(P, (P,)), (ConnKey(P, FlowTuple(6, 1, 2, 3, 4)),))


def test_sent_received_rejected(caplog: pytest.LogCaptureFixture) -> None:
    tx, rx = StateChannel(), StateChannel()
    data = tx.outgoing(MSG, ["host-b", "host-c"])
    assert tx.counters.get("state_packets_sent", ("host-b",)) == 1
    assert tx.counters["state_packets_sent"] == 2
    assert tx.counters["state_bytes_sent"] == 2 * len(data)
    assert rx.incoming(data, now=0) == MSG
    assert rx.counters["state_packets_received"] == 1
    with caplog.at_level(logging.WARNING, logger="services.session.state_channel"):
        assert rx.incoming(data[:5], now=1, source="10.0.0.9") is None
        assert rx.incoming(data[:5], now=2) is None  # same reason within 10 s: no new line
        assert rx.incoming(b"XX" + data[2:], now=3) is None
    assert rx.counters.get("state_packets_rejected", ("truncated",)) == 2
    assert rx.counters.get("state_packets_rejected", ("magic",)) == 1
    assert len(caplog.records) == 2
    assert "10.0.0.9" in caplog.records[0].getMessage()


@given(st.binary(max_size=1200))
def test_incoming_never_raises(data: bytes) -> None:
    ch = StateChannel()
    got = ch.incoming(data, now=0)
    assert (got is None) == (ch.counters["state_packets_rejected"] == 1)
