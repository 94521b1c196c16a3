"""Every tunable of session state, with what it does and why the default is what it is."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SessionConfig:
    """Bounds and timers of the session table and the stores."""

    # --- the table ---
    idle_timeout: float = 60.0
    """Seconds an entry lives after the last datapath flow that used it went idle
    (``touch``). MidoNet's conntrack and NAT entries idle out after 60 s: long enough for a
    TCP keepalive-less pause or a UDP request/answer gap, short enough to free SNAT ports."""
    max_entries: int = 100_000
    """Entries (conntrack + NAT) per host. Beyond this, the entry idle the longest is evicted
    (counted): a bound on memory (~0.5 KB each) rather than a refusal of new connections."""
    refresh_interval: float = 20.0
    """An entry still in use is offered to the store again this often, so that its row,
    written with a TTL of ``idle_timeout``, outlives it even if one refresh is dropped."""
    # --- the write-behind stores ---
    store_queue_max: int = 50_000
    """Entries waiting to be written. Full: new offers are dropped and counted (never block
    the packet path). About 10 s of 5,000 new connections/s, longer than a driver failover."""
    store_batch_rows: int = 32
    """Rows per unlogged batch; a batch holds one partition (one port) only, as Cassandra
    wants, and stays under its default 5 KiB batch warning (about 100 B a row)."""
    store_max_in_flight: int = 32
    """Batches awaiting Cassandra's answer at once; beyond this the queue waits (and
    fills), so a slow Cassandra costs memory bounded by the queue, not by requests."""
    store_flush_interval: float = 0.05
    """Seconds the flush task waits for more entries before writing a partial batch."""
    store_write_timeout: float = 2.0
    """Seconds before an unanswered write counts as failed (its entries dropped, counted)."""
    store_reconnect_min: float = 0.5
    store_reconnect_max: float = 5.0
    """Reconnection back-off bounds (seconds) after Cassandra was unreachable: quick to
    notice a restarted node, at most one attempt per 5 s against a dead one."""
    restore_timeout: float = 3.0
    """Seconds a port bind waits for its sessions from the store before the port goes
    active anyway (a missing store must not keep a VM offline)."""
    local_flush_interval: float = 1.0
    """Seconds between rewrites of the local store's file (only when something changed)."""

    def __post_init__(self) -> None:
        if self.idle_timeout <= 0:
            raise ValueError("idle_timeout must be positive")
        if self.max_entries < 1 or self.store_queue_max < 1 or self.store_batch_rows < 1:
            raise ValueError("max_entries, store_queue_max and store_batch_rows must be >= 1")
        if self.store_max_in_flight < 1:
            raise ValueError("store_max_in_flight must be >= 1")

    @property
    def ttl_seconds(self) -> int:
        """The TTL of a stored row: the idle timeout, rounded up to whole seconds."""
        return max(1, int(-(-self.idle_timeout // 1)))
