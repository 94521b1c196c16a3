"""When an entry of a version vector may be collected (dropped for good).

Every writer process (replica id "host/random") adds one entry per table it writes to, so
without collection the vectors grow by one entry per process lifetime forever. The rule:
member M drops the entry (origin O, seq s) of a table when

1. O is retired: O is not M's own replica and either O's host is not live in M's view
   (dead, left or forgotten) or O's host is M itself (O is an earlier life of M); and
2. every member live in M's view has shown, in its latest push-pull, a vector holding O at
   s or more, or reported O as collected at s or more.

A member also collects (O, s) when a peer reports it collected at exactly the seq it holds:
the peer checked rule 2 in its own view. Collected entries stay as tombstones for
`vv_tombstone_ttl`: late copies of O's deltas (seq <= s) are recognised as already applied,
and the tombstones travel in push-pulls so that the others collect them too; a member whose
vector shows O below a peer's tombstone is behind and fetches the missing writes.

Collection never loses or resurrects data: it only drops bookkeeping of writes everyone
already holds, and re-applying an old delta or state is a no-op for a CRDT (join is
idempotent). A wrongly retired writer (declared dead while alive) that writes again simply
re-creates its entry with the next seq."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from mesh.messages import VersionVector


def origin_host(origin: str) -> str:
    """The host id part of a replica id ("host/random")."""
    host, sep, _ = origin.rpartition("/")
    return host if sep else origin


def collectable(
    vvs: Mapping[str, VersionVector],
    me: str,
    my_replica: str,
    is_live: Callable[[str], bool],
    peers: Iterable[str],
    seen: Callable[[str, str, str], int],
) -> list[tuple[str, str, int]]:
    """(table, origin, seq) entries of our vectors `vvs` that rule 1 and 2 allow to drop.

    `peers` are the live members other than us; seen(peer, table, origin) is the seq at
    which peer last showed it holds origin's writes (0 if never)."""
    candidates: list[tuple[str, str, int]] = []
    for table, vv in vvs.items():
        for origin, seq in vv.items():
            if origin == my_replica:
                continue
            host = origin_host(origin)
            if host == me or not is_live(host):
                candidates.append((table, origin, seq))
    if not candidates:
        return []
    live = list(peers)
    return [
        (table, origin, seq)
        for table, origin, seq in candidates
        if all(seen(peer, table, origin) >= seq for peer in live)
    ]
