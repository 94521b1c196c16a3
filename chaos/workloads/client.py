"""The workloads' HTTP client: one aiohttp session (opened inside the underlay namespace)
and the answer kinds a Jepsen client needs: done, refused (certainly not done), or
indeterminate (timeout, dropped connection, 5xx)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import aiohttp

from chaos.cluster import Cluster

TIMEOUT = 2.0
"""Seconds before a request counts as indeterminate: several gossip rounds, yet short
enough that a paused agent does not hold a client for long."""


@dataclass(frozen=True, slots=True)
class Answer:
    """`status` 0 means no HTTP answer: `definite` tells whether the request surely never
    reached the agent (connection refused) or may have (timeout, reset)."""

    status: int
    body: Any
    error: str | None = None
    definite: bool = True

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


class Client:
    def __init__(self, cluster: Cluster, timeout: float = TIMEOUT) -> None:
        self.cluster = cluster
        self.timeout = timeout
        self._session: aiohttp.ClientSession | None = None

    async def open(self) -> None:
        connector = aiohttp.TCPConnector(limit=64, force_close=True)
        self._session = aiohttp.ClientSession(connector=connector)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def call(
        self, host: str, method: str, path: str, body: Any = None, timeout: float | None = None
    ) -> Answer:
        """One request to a host's API; never raises for network trouble."""
        assert self._session is not None, "client not open"
        url = self.cluster.api_url(host) + path
        data = None if body is None else json.dumps(body)
        headers = {"Content-Type": "application/json"} if data is not None else None
        to = aiohttp.ClientTimeout(total=timeout or self.timeout)
        try:
            async with self._session.request(
                method, url, data=data, headers=headers, timeout=to
            ) as resp:
                raw = await resp.read()
                try:
                    parsed = json.loads(raw) if raw else None
                except ValueError:
                    parsed = raw.decode(errors="replace")
                return Answer(resp.status, parsed, definite=resp.status < 500)
        except aiohttp.ClientConnectorError as e:
            # the TCP connect failed: nothing was sent
            return Answer(0, None, f"connect: {e.os_error or e}", definite=True)
        except TimeoutError:
            return Answer(0, None, "timeout", definite=False)
        except (aiohttp.ClientError, OSError) as e:
            return Answer(0, None, f"{type(e).__name__}: {e}", definite=False)
