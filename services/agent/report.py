"""What GET /v1/flows and GET /v1/agent say (pure: the shell passes in what it holds)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TypedDict

from datapath.api import Flow
from datapath.flow.addr import ip4_str
from datapath.flow.format import actions_str, match_str
from services.agent.bindings import Binding
from services.agent.flowtrack import TrackedFlow
from services.simulation.result import Decision


class FlowJson(TypedDict, total=False):
    """One installed flow as GET /v1/flows lists it."""

    ufid: str
    match: str
    actions: str
    packets: int
    bytes: int
    expires_in: float
    tags: int
    summary: str


def summary(info: object) -> str:
    """What a tracked flow's summary says: the decision (and error) it was installed for."""
    if isinstance(info, tuple) and len(info) == 2 and isinstance(info[0], Decision):
        return info[0].value + (f" ({info[1]})" if info[1] else "")
    return str(info)


def flow_json(
    flow: Flow, tracked: TrackedFlow | None, tunnel_port: str | None, now: float
) -> FlowJson:
    """One dumped flow, with what the agent knows of it (tracked, or a tunnel-in flow)."""
    item: FlowJson = {
        "ufid": flow.ufid.hex(),
        "match": match_str(flow.key, flow.mask),
        "actions": actions_str(flow.actions),
        "packets": flow.stats.packets,
        "bytes": flow.stats.bytes,
    }
    if tracked is not None:
        item["expires_in"] = round(max(0.0, tracked.deadline - now), 1)
        item["tags"] = len(tracked.tags)
        item["summary"] = summary(tracked.summary)
    elif tunnel_port is not None:
        item["summary"] = f"tunnel egress to port {tunnel_port}"
    return item


class LatencyJson(TypedDict):
    """Upcall handling latency percentiles in microseconds (None before any upcall)."""

    p50: float | None
    p99: float | None


def latency_json(latencies: Iterable[float]) -> LatencyJson:
    """p50 and p99 of handling latencies (seconds) in microseconds."""
    lat = sorted(latencies)

    def pct(p: float) -> float | None:
        return round(lat[min(len(lat) - 1, int(p * len(lat)))] * 1e6, 1) if lat else None

    return {"p50": pct(0.5), "p99": pct(0.99)}


class BindingJson(TypedDict):
    """One binding as GET /v1/agent lists it."""

    port_id: str
    interface: str
    port_no: int
    tunnel_key: int


def bindings_json(bindings: Iterable[Binding]) -> list[BindingJson]:
    """The bindings, as GET /v1/agent lists them."""
    return [
        {
            "port_id": b.port_id,
            "interface": b.interface,
            "port_no": b.port_no,
            "tunnel_key": b.tunnel_key,
        }
        for b in bindings
    ]


def underlay_json(underlay: Mapping[str, int]) -> dict[str, str]:
    """host id -> dotted underlay address, sorted by host id."""
    return {h: ip4_str(ip) for h, ip in sorted(underlay.items())}


def counters_json(values: Mapping[str, float]) -> dict[str, float]:
    """Counter values by name, sorted by name."""
    return dict(sorted(values.items()))
