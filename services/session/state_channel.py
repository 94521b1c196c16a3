"""Counting both ends of the state push: encode a message for its peers, accept bytes from
one. Bad input is counted by reason and logged (at most one line per reason per
LOG_EVERY seconds, ``now`` passed in), never raised; the tunnel shell sends and receives."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from mesh.counters import Counters
from services.session.counters import state_counters
from services.session.wire import StateDecodeError, StateMessage, decode, encode

log = logging.getLogger(__name__)
LOG_EVERY = 10.0


class StateChannel:
    """The state-packet counters and the codec calls that move them."""

    def __init__(self, counters: Counters | None = None) -> None:
        self.counters = counters or state_counters()
        self._logged: dict[str, float] = {}

    def outgoing(self, message: StateMessage, peers: Sequence[str]) -> bytes:
        """The bytes to send to each of ``peers`` (counted once per peer)."""
        data = encode(message)
        for peer in peers:
            self.counters.inc("state_packets_sent", labels=(peer,))
            self.counters.inc("state_bytes_sent", len(data))
        return data

    def incoming(self, data: bytes, now: float, source: str = "?") -> StateMessage | None:
        """The message in ``data``, or None (counted, logged) if it is not a valid one."""
        try:
            message = decode(data)
        except StateDecodeError as e:
            self.counters.inc("state_packets_rejected", labels=(e.reason,))
            last = self._logged.get(e.reason)
            if last is None or now - last >= LOG_EVERY:
                self._logged[e.reason] = now
                log.warning("state packet from %s rejected: %s", source, e)
            return None
        self.counters.inc("state_packets_received")
        return message
