"""Session state of stateful L4: conntrack keys and NAT bindings (pure values), the bounded
in-memory session table with idle expiry, the state-packet wire format, and the session
stores (local file, Cassandra) that keep sessions across agent restarts and port moves.

The packet path reads only :class:`~services.session.table.SessionTable`; stores are written
behind it (``offer``) and read when a port binds (``restore``). See docs/sessions.md.
"""
