"""meshd's HTTP API (aiohttp, JSON): members, health, Prometheus metrics, the "kv" table."""

from mesh.api.app import ApiState, make_app

__all__ = ["ApiState", "make_app"]
