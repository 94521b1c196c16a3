"""Network addresses used by the mesh: one (host, port) pair serves both UDP and TCP."""

Address = tuple[str, int]
"""(host, port) of a member's gossip endpoint; datagrams and streams use the same pair."""
