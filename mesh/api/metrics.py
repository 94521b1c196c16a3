"""GET /metrics: Prometheus text from a per-process CollectorRegistry.

The collector reads the core's plain counters (node.metrics) at scrape time, so the core
stays free of prometheus_client.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

STATES = ("alive", "suspect", "dead", "left")


def _fields(obj: Any) -> Iterator[tuple[str, Any]]:
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        for f in dataclasses.fields(obj):
            yield f.name, getattr(obj, f.name)
    elif hasattr(obj, "__dict__"):
        yield from vars(obj).items()


class NodeCollector(Collector):
    """Members by state, the core's counters (messages, bytes, drops), convergence lag and
    the shell's own error counters."""

    def __init__(self, node: Callable[[], Any], shell_counts: Callable[[], Mapping[str, int]]):
        self._node = node
        self._shell = shell_counts

    def collect(self) -> Iterator[Metric]:
        node = self._node()
        if node is None:
            return
        members = GaugeMetricFamily("mesh_members", "Members by state", labels=["state"])
        counts = dict.fromkeys(STATES, 0)
        for m in node.members():
            counts[m.state.value] = counts.get(m.state.value, 0) + 1
        for state, n in counts.items():
            members.add_metric([state], n)
        yield members
        metrics = getattr(node, "metrics", None)
        for name, value in _fields(metrics):
            if name.startswith("_"):
                continue
            yield from self._family(name, value)
        shell = CounterMetricFamily(
            "mesh_shell_errors", "Transport-level failures by reason", labels=["reason"]
        )
        for reason, n in sorted(self._shell().items()):
            shell.add_metric([reason], n)
        yield shell

    def _family(self, name: str, value: Any) -> Iterator[Metric]:
        metric = f"mesh_{name}"
        if isinstance(value, Mapping):
            label = "reason" if "drop" in name else "kind"
            family = CounterMetricFamily(metric, f"Core counter {name}", labels=[label])
            for key, n in sorted(value.items(), key=lambda kv: str(kv[0])):
                if isinstance(n, int | float) and not isinstance(n, bool):
                    family.add_metric([str(key)], n)
            yield family
        elif isinstance(value, int | float) and not isinstance(value, bool):
            if "lag" in name or "seconds" in name or not isinstance(value, int):
                yield GaugeMetricFamily(metric, f"Core gauge {name}", value=value)
            else:
                yield CounterMetricFamily(metric, f"Core counter {name}", value=value)


async def scrape(request: web.Request) -> web.Response:
    from mesh.api.app import STATE

    registry: CollectorRegistry = request.app[STATE].registry
    body = generate_latest(registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})
