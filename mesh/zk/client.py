"""Creation of the kazoo client used by membership and leases."""

from kazoo.client import KazooClient


def make_client(hosts: str, session_timeout: float) -> KazooClient:
    """A KazooClient that retries connecting forever (sessions are re-established by us)."""
    return KazooClient(
        hosts=hosts,
        timeout=session_timeout,
        connection_retry={"max_tries": -1, "delay": 0.1, "backoff": 2, "max_delay": 2.0},
    )
