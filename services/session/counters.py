"""Every counter of session state, declared once with its help text (exported as
``session_<name>``): state packets, the table, and the session stores."""

from __future__ import annotations

from mesh.counters import CounterDef, Counters

PREFIX = "session"

STATE_DEFS = (
    CounterDef("state_packets_sent", "State messages sent to peers", ("peer",)),
    CounterDef("state_packets_received", "State messages received and applied"),
    CounterDef(
        "state_packets_rejected",
        "State messages dropped as invalid (counted by reason, logged, never a crash)",
        ("reason",),
    ),
    CounterDef("state_bytes_sent", "Bytes of state messages sent"),
)

TABLE_DEFS = (
    CounterDef("entries", "Entries in the session table", kind="gauge"),
    CounterDef("entries_expired", "Entries removed after idle_timeout without use"),
    CounterDef("entries_evicted", "Entries evicted to stay within max_entries"),
)

STORE_DEFS = (
    CounterDef("store_offered", "Entries offered to the session store"),
    CounterDef("store_queue_full", "Entries offer() refused: the write-behind queue was full"),
    CounterDef(
        "store_rows_written",
        "Rows written: Cassandra rows acknowledged (one per port of an entry), file records",
    ),
    CounterDef(
        "store_rows_dropped",
        "Rows given up: unavailable, timeout, failed (write errors), evicted (store bound)",
        ("reason",),
    ),
    CounterDef("store_write_failures", "Batches (or file writes) that failed"),
    CounterDef("store_connects", "Connections to the store established (first and again)"),
    CounterDef("store_connect_failures", "Connection attempts that failed (retried)"),
    CounterDef("store_restored", "Entries read back by restore(port)"),
    CounterDef("store_restore_failures", "Restores that failed or timed out (port goes active)"),
    CounterDef("store_bad_rows", "Stored rows or file records that did not decode (skipped)"),
    CounterDef("store_corrupt_files", "Local store files that could not be read (set aside)"),
    CounterDef("store_queue", "Entries waiting in the write-behind queue", kind="gauge"),
    CounterDef("store_in_flight", "Batches sent and not yet answered", kind="gauge"),
)


def state_counters() -> Counters:
    """Counters of the state-packet push, all at zero."""
    return Counters(PREFIX, STATE_DEFS + TABLE_DEFS)


def store_counters() -> Counters:
    """Counters of one session store, all at zero."""
    return Counters(PREFIX + "_store", STORE_DEFS)
