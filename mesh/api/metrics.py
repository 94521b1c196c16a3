"""GET /metrics: Prometheus text from a per-process CollectorRegistry.

The collector reads declared figures at scrape time through :class:`MetricsSource` (the
core's counters, the shell's errors, members by state, and whatever extensions register),
so the core stays free of prometheus_client.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Protocol

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from mesh.api.state import api_state
from mesh.counters import MetricsSource, Sample
from mesh.member import Member, MemberState

STATES = tuple(s.value for s in MemberState)


class ObservedNode(Protocol):
    """What the collector reads of the node (a MeshNode satisfies it)."""

    @property
    def metrics(self) -> MetricsSource: ...

    def members(self) -> list[Member]: ...


def member_samples(members: Iterable[Member]) -> Sample:
    """Members by state (every state present, zeros included)."""
    counts = dict.fromkeys(STATES, 0)
    for m in members:
        counts[m.state.value] += 1
    values: dict[tuple[str, ...], float] = {(state,): float(n) for state, n in counts.items()}
    return Sample("mesh_members", "Members by state", "gauge", ("state",), values)


def shell_samples(counts: Mapping[str, int]) -> Sample:
    """The transport's own failures by reason."""
    values: dict[tuple[str, ...], float] = {(r,): float(n) for r, n in sorted(counts.items())}
    return Sample(
        "mesh_shell_errors", "Transport-level failures by reason", "counter", ("reason",), values
    )


def family(sample: Sample) -> Metric:
    """The Prometheus family of one Sample."""
    labels = list(sample.labels)
    fam: CounterMetricFamily | GaugeMetricFamily
    if sample.kind == "counter":
        fam = CounterMetricFamily(sample.name, sample.help, labels=labels)
    else:
        fam = GaugeMetricFamily(sample.name, sample.help, labels=labels)
    for key, value in sample.values.items():
        fam.add_metric(list(key), value)
    return fam


class NodeCollector(Collector):
    """Members by state, the core's counters (messages, bytes, drops, convergence lag),
    the shell's own error counters, and every MetricsSource registered (extensions')."""

    def __init__(
        self,
        node: Callable[[], ObservedNode | None],
        shell_counts: Callable[[], Mapping[str, int]],
    ) -> None:
        self._node = node
        self._shell = shell_counts
        self._sources: list[MetricsSource] = []

    def register(self, source: MetricsSource) -> None:
        """Export `source`'s samples at every scrape from now on."""
        self._sources.append(source)

    def samples(self) -> Iterator[Sample]:
        """Every figure exported at a scrape, in export order."""
        node = self._node()
        if node is None:
            return
        yield member_samples(node.members())
        yield from node.metrics.metric_samples()
        yield shell_samples(self._shell())
        for source in self._sources:
            yield from source.metric_samples()

    def collect(self) -> Iterator[Metric]:
        for sample in self.samples():
            yield family(sample)


async def scrape(request: web.Request) -> web.Response:
    body = generate_latest(api_state(request).registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})
