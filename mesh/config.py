"""Every tunable of the mesh core, with what it does and why the default is what it is.

Defaults follow hashicorp/memberlist's profiles (LAN, WAN, local), which have years of
production behind them; the replication knobs are ours."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any


@dataclass(frozen=True)
class MeshConfig:
    """Timers and limits of one mesh node. Build with lan() (the default), wan() or local()."""

    # --- failure detection (SWIM + Lifeguard) ---
    probe_interval: float = 1.0
    """Seconds between probes of one member (round robin). One probe per second keeps the
    failure-detection load constant per member whatever N is."""
    probe_timeout: float = 0.5
    """Seconds to wait for a direct ack before asking `indirect_checks` peers to probe; must
    be above the network's 99th percentile RTT."""
    indirect_checks: int = 3
    """Peers asked to probe a silent member for us: rules out a bad path between two
    members before suspecting one of them."""
    suspicion_mult: int = 4
    """Suspicion timeout floor = suspicion_mult * max(1, log10 N) * probe_interval: time for a
    false suspicion to reach the suspect so it can refute, growing slowly with N."""
    suspicion_max_timeout_mult: int = 6
    """Suspicion timeout ceiling = this times the floor. A suspicion starts at the ceiling
    and shrinks toward the floor as independent members confirm it (Lifeguard)."""
    awareness_max_multiplier: int = 8
    """Ceiling of the local-health score: a node that misses acks/nacks slows its own probes
    (interval and timeout times score+1) instead of accusing healthy peers."""
    # --- dissemination ---
    gossip_interval: float = 0.2
    """Seconds between gossip rounds: queued broadcasts (membership, CRDT deltas) go to
    `gossip_fanout` random peers. 200 ms gives sub-second convergence for 1000s of nodes."""
    gossip_fanout: int = 3
    """Random peers per gossip round that receive queued broadcasts."""
    gossip_pull_fanout: int = 1
    """Random peers per gossip round that get our replication digest when we have nothing
    to push; a peer that holds more answers with its recent deltas (pull). Pull removes the
    slow tail of push-only epidemics (the last few uninfected members)."""
    gossip_to_the_dead_time: float = 30.0
    """Seconds a dead member still receives gossip, so that a falsely declared member hears
    about it and refutes."""
    retransmit_mult: int = 4
    """Each broadcast is sent retransmit_mult * ceil(log10(N+1)) times: enough for an
    epidemic to reach everyone with high probability, and no more."""
    push_pull_interval: float = 30.0
    """Seconds between full anti-entropy exchanges (membership + replication digests) with
    one random member over a stream; scaled up beyond 32 members to bound the total load."""
    pull_escalation_interval: float = 1.0
    """Minimum seconds between two extra push-pulls started because a peer's digest showed
    it holds deltas we could not get by datagram (gaps, deltas larger than the MTU)."""
    gap_timeout: float = 1.0
    """Seconds an out-of-order delta may wait for the missing seqs before we fetch the gap
    (or the full state) by push-pull instead."""
    # --- sizes and limits ---
    mtu: int = 1400
    """Largest datagram we send. 1400 bytes fits a 1500-byte Ethernet MTU with IP/UDP and
    tunnel headers; larger deltas travel by stream."""
    max_stream_bytes: int = 1 << 20
    """Largest stream request/response body; larger state transfers are split into chunks
    of this size (memberlist caps a whole push-pull at 20 MiB; we chunk instead)."""
    max_incoming_stream_bytes: int = 4 << 20
    """Larger incoming stream payloads are dropped unread (bounded memory per request)."""
    # --- inbound stream limits (enforced by the socket shell, mesh/transport) ---
    stream_frame_timeout: float = 2.0
    """Seconds from accepting a TCP stream to having its whole first frame (length and body),
    never renewed by arriving bytes. A request is small (membership and digests) and takes
    milliseconds on a LAN; a peer that trickles bytes loses its slot after this, not after the
    whole-exchange timeout (10 s) it could otherwise renew by reconnecting. The WAN profile
    allows 5 s (long RTTs, a few retransmissions)."""
    max_inbound_streams: int = 32
    """Inbound exchanges served at once, counted only once their first frame is in and (with
    a key) opens: the costly part (building a reply, state transfer to a slow reader) is
    bounded, and connections that never authenticate cannot take these slots."""
    max_pending_streams: int = 64
    """Inbound connections still waiting for their first frame: cheap (no reply built), so
    more than the serving slots, and each lasts at most stream_frame_timeout."""
    max_streams_per_source: int = 8
    """Inbound streams (waiting or served) from one source address: a member opens one
    push-pull or state transfer at a time per peer, so 8 leaves room for several agents
    behind one address while one host alone cannot take every slot."""
    delta_log_max: int = 4096
    """Deltas kept per table to answer push-pulls with deltas instead of full state."""
    delta_buffer_max: int = 1024
    """Out-of-order deltas buffered per table while waiting for a gap to fill."""
    queue_min_depth: int = 1024
    """The broadcast queue keeps at least this many entries (max(this, 2N)); beyond that
    the most transmitted ones are dropped (push-pull repairs what they would have done)."""
    reconnect_interval: float = 10.0
    """Seconds between push-pull attempts with a random dead (not left) member, so that
    halves of a healed partition find each other again (Serf's reconnect)."""
    dead_reap_time: float = 3600.0
    """Seconds a dead or left member stays listed (and reconnect is tried) before it is
    forgotten; long, so a partition of minutes still heals by itself."""
    max_message_age: float = 60.0
    """Datagrams whose sender timestamp is further than this from our `now` (old replays,
    badly skewed clocks) are dropped as stale. 0 disables the check."""
    state_transfer_ttl: float = 30.0
    """Seconds a serving-side state snapshot for a chunked transfer is kept."""
    stream_expiry: float = 60.0
    """A stream whose reply (or failure) the shell never reported is forgotten after this
    many seconds, so that the peer can be pulled from again."""
    log_interval: float = 10.0
    """Minimum seconds between two log lines about dropped input of the same reason."""

    @classmethod
    def lan(cls, **overrides: Any) -> MeshConfig:
        """Default profile: a data-center LAN (memberlist DefaultLANConfig)."""
        return replace(cls(), **overrides)

    @classmethod
    def wan(cls, **overrides: Any) -> MeshConfig:
        """Members across the Internet: slower probes, longer timeouts, 4-way gossip."""
        base = cls(
            probe_interval=5.0,
            probe_timeout=3.0,
            suspicion_mult=6,
            gossip_interval=0.5,
            gossip_fanout=4,
            gossip_to_the_dead_time=60.0,
            push_pull_interval=60.0,
            pull_escalation_interval=5.0,
            gap_timeout=5.0,
            reconnect_interval=30.0,
            max_message_age=300.0,
            stream_frame_timeout=5.0,
        )
        return replace(base, **overrides)

    @classmethod
    def local(cls, **overrides: Any) -> MeshConfig:
        """One host or loopback tests: fast timers, everything reacts within seconds."""
        base = cls(
            probe_interval=1.0,
            probe_timeout=0.2,
            suspicion_mult=3,
            suspicion_max_timeout_mult=3,
            gossip_interval=0.1,
            gossip_to_the_dead_time=15.0,
            push_pull_interval=15.0,
            pull_escalation_interval=0.5,
            gap_timeout=0.5,
            reconnect_interval=5.0,
        )
        return replace(base, **overrides)
