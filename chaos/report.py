"""results.json and report.html for a run (or a re-checked history): the run's parameters,
each checker's verdict and figures, and PNG plots (matplotlib, Agg) embedded inline."""

from __future__ import annotations

import base64
import html
import io
import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from chaos.checkers import check_history
from chaos.checkers.faults import Faults, faults_of
from chaos.checkers.traffic import expected_pairs, ping_samples
from chaos.history import (
    CROSS_TENANT,
    EXPECTED,
    INVOKE,
    MEMBERS,
    NEMESIS,
    PING,
    SESSION,
    STATE,
    STREAM,
    Json,
    Op,
    pairs,
)

FAULT_COLORS = {
    "partition": "#e4572e",
    "loss": "#f3a712",
    "kill": "#7a1f5c",
    "pause": "#29335c",
    "clock": "#669bbc",
    "zk-kill": "#a8c686",
    "cassandra-kill": "#4c956c",
    "restart-storm": "#c9184a",
}
OUTCOME_COLORS = {"ok": "#2a9d8f", "fail": "#e76f51", "info": "#e9c46a"}


def params_of(ops: Iterable[Op]) -> dict[str, Json]:
    """The run parameters from the first `params` nemesis op, if the runner logged one."""
    for op in ops:
        if op.process == NEMESIS and op.f == "params" and isinstance(op.value, dict):
            return dict(op.value)
    return {}


def write_outputs(
    out: Path, ops: Sequence[Op], names: Iterable[str] | None = None,
    params: Mapping[str, Json] | None = None,
) -> dict[str, Json]:
    """Check `ops`, write out/results.json and out/report.html, return the results."""
    out.mkdir(parents=True, exist_ok=True)
    results = check_history(ops, names)
    (out / "results.json").write_text(json.dumps(results, indent=2, allow_nan=False) + "\n")
    shown = dict(params_of(ops))
    shown.update(params or {})
    (out / "report.html").write_text(render_html(ops, results, shown))
    return results


# --- plots ---


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _png(fig: Any) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    _pyplot().close(fig)
    return base64.b64encode(buf.getvalue()).decode()


def _shade(ax: Any, faults: Faults) -> None:
    seen: set[str] = set()
    end = faults.end
    for w in faults.windows:
        color = FAULT_COLORS.get(w.fault, "#999999")
        label = w.fault if w.fault not in seen else None
        seen.add(w.fault)
        ax.axvspan(w.start, min(w.end, end), color=color, alpha=0.18, label=label, lw=0)
    if faults.final_heal is not None:
        ax.axvline(faults.final_heal, color="black", ls="--", lw=1, label="final heal")


SAMPLE_FS = frozenset({PING, STREAM, MEMBERS, SESSION, STATE, CROSS_TENANT, EXPECTED})
"""Periodic samples, not client requests: left out of the latency plot."""


def latency_plot(ops: Sequence[Op], faults: Faults) -> str | None:
    ps = [p for p in pairs(ops) if p.invoke.type == INVOKE and p.invoke.f not in SAMPLE_FS]
    if not ps:
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(11, 4))
    finite = [p.end - p.invoke.time for p in ps if p.complete is not None]
    top = max(finite) * 1.15 if finite else 1.0
    for outcome, color in OUTCOME_COLORS.items():
        xs = [p.invoke.time for p in ps if p.type == outcome]
        ys = [
            (p.end - p.invoke.time) if p.complete is not None else top for p in ps
            if p.type == outcome
        ]
        if xs:
            ax.scatter(xs, [max(y, 1e-4) for y in ys], s=6, color=color, label=outcome,
                       alpha=0.7)
    _shade(ax, faults)
    ax.set_yscale("log")
    ax.set_xlabel("time since start (s)")
    ax.set_ylabel("latency (s)")
    ax.set_title("Client operation latency (invoke to completion; info at the top); faults shaded")
    ax.legend(loc="upper left", fontsize=8, ncol=4)
    return _png(fig)


def reachability_plot(ops: Sequence[Op], faults: Faults) -> str | None:
    samples, _ = ping_samples(ops)
    if not samples:
        return None
    plt = _pyplot()
    names = sorted({f"{s.src}->{s.dst}" for s in samples})
    row = {n: i for i, n in enumerate(names)}
    expected = expected_pairs(ops) or {}
    labels = []
    for n in names:
        src, _, dst = n.partition("->")
        labels.append(n + ("  (must not reach)" if expected.get((src, dst)) is False else ""))
    fig, ax = plt.subplots(figsize=(11, 0.9 + 0.28 * len(names)))
    cmap = plt.get_cmap("RdYlGn")
    for s in samples:
        frac = s.received / s.sent if s.sent else 0.0
        ax.broken_barh([(s.start, max(s.end - s.start, 0.05))], (row[f"{s.src}->{s.dst}"] - 0.4,
                       0.8), facecolors=cmap(frac))
    _shade(ax, faults)
    ax.set_yticks(range(len(names)))
    ax.set_yticklabels(labels, fontsize=7)
    ax.set_xlabel("time since start (s)")
    ax.set_title("Reachability per pair (share of pings answered: red 0 .. green 1)")
    ax.legend(loc="upper left", bbox_to_anchor=(1.005, 1.0), fontsize=8)
    return _png(fig)


def convergence_plot(results: Mapping[str, Json]) -> str | None:
    checkers = results.get("checkers")
    conv = checkers.get("convergence") if isinstance(checkers, Mapping) else None
    rows = conv.get("per_heal") if isinstance(conv, Mapping) else None
    if not isinstance(rows, Sequence) or not rows:
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(11, 3.5))
    heals = [r for r in rows if isinstance(r, Mapping) and isinstance(r.get("heal"), int | float)]
    labels = [f"{float(r['heal']):.1f} s{' (final)' if r.get('final') else ''}"  # type: ignore[arg-type]
              for r in heals]
    for k, aspect in enumerate(("kv", "topology", "members")):
        xs, ys, missing = [], [], []
        for i, r in enumerate(heals):
            if aspect not in r:
                continue
            v = r.get(aspect)
            if isinstance(v, int | float):
                xs.append(i + (k - 1) * 0.27)
                ys.append(float(v))
            else:
                missing.append((i + (k - 1) * 0.27, bool(r.get("final"))))
        if xs:
            ax.bar(xs, ys, width=0.25, label=aspect)
        for x, fin in missing:
            ax.axvline(x, color="red" if fin else "#bbbbbb", lw=2)
    ax.set_xticks(range(len(heals)))
    ax.set_xticklabels(labels, fontsize=8)
    ax.set_xlim(-0.6, max(len(heals), 2) - 0.4)
    ax.set_xlabel("heal (seconds since start)")
    ax.set_ylabel("seconds until all agents agree")
    ax.set_title("Convergence after each heal (red: never agreed after the final heal; "
                 "grey: the next fault began first)")
    ax.legend(fontsize=8)
    return _png(fig)


# --- html ---

CSS = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 1150px; color: #222 }
h1 { margin-bottom: .2em } table { border-collapse: collapse; margin: .5em 0 1.2em }
td, th { border: 1px solid #ddd; padding: 3px 8px; text-align: left; vertical-align: top }
th { background: #f4f4f4 } pre { margin: 0; white-space: pre-wrap; font-size: 12px }
.v-true { background: #d8f3dc } .v-false { background: #ffccd5 }
.v-unknown { background: #fff3bf }
.badge { padding: 2px 10px; border-radius: 4px; font-weight: 600 }
img { max-width: 100%; border: 1px solid #eee; margin: .5em 0 }
table.inner { margin: 0 } table.inner td, table.inner th { padding: 1px 6px; font-size: 12px }
"""


def _verdict(v: Json) -> str:
    text = "valid" if v is True else "INVALID" if v is False else "unknown"
    cls = "true" if v is True else "false" if v is False else "unknown"
    return f'<span class="badge v-{cls}">{text}</span>'


def _scalar(v: Json) -> bool:
    return v is None or isinstance(v, bool | int | float | str)


def _text(v: Json) -> str:
    return html.escape(v if isinstance(v, str) else json.dumps(v, default=str))


def _cell(v: Json) -> str:
    """Scalars as text, flat dicts as `k v` runs, flat lists comma-separated, a dict of
    flat dicts as a small table; anything else as compact JSON."""
    if _scalar(v):
        return _text(v)
    if isinstance(v, Mapping) and all(_scalar(x) for x in v.values()):
        if not v:
            return "&mdash;"
        return " &middot; ".join(f"{html.escape(str(k))} <b>{_text(x)}</b>" for k, x in v.items())
    if isinstance(v, list) and all(_scalar(x) for x in v):
        return ", ".join(_text(x) for x in v[:200]) if v else "&mdash;"
    if isinstance(v, list) and all(
        isinstance(x, Mapping) and all(_scalar(y) for y in x.values()) for x in v
    ):
        v = {str(i + 1): x for i, x in enumerate(v[:200])}  # rows of a table, numbered
    if isinstance(v, Mapping) and all(
        isinstance(x, Mapping) and all(_scalar(y) for y in x.values()) for x in v.values()
    ):
        cols = list(dict.fromkeys(k for x in v.values() if isinstance(x, Mapping) for k in x))
        head = "".join(f"<th>{html.escape(str(c))}</th>" for c in cols)
        rows = []
        for k, x in v.items():
            if not isinstance(x, Mapping):
                continue
            cells = "".join(f"<td>{_text(x.get(c))}</td>" for c in cols)
            rows.append(f"<tr><th>{html.escape(str(k))}</th>{cells}</tr>")
        return f"<table class='inner'><tr><th></th>{head}</tr>{''.join(rows)}</table>"
    text = json.dumps(v, default=str, separators=(", ", ": "))
    if len(text) > 3000:
        text = text[:3000] + " ..."
    return f"<pre>{html.escape(text)}</pre>"


def render_html(ops: Sequence[Op], results: Mapping[str, Json],
                params: Mapping[str, Json]) -> str:
    faults = faults_of(ops)
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        "<title>meshchaos report</title>",
        f"<style>{CSS}</style></head><body>",
        f"<h1>meshchaos report {_verdict(results.get('valid'))}</h1>",
        "<h2>Run</h2><table>",
    ]
    clients = {op.process for op in ops if not op.is_nemesis}
    info: dict[str, Json] = dict(params)
    info.setdefault("operations", len(ops))
    info.setdefault("clients", len(clients))
    info.setdefault("duration_s", round(faults.end, 3))
    info.setdefault("final_heal_s", faults.final_heal)
    for k, v in info.items():
        parts.append(f"<tr><th>{html.escape(str(k))}</th><td>{_cell(v)}</td></tr>")
    parts.append("</table><h2>Faults</h2>")
    if faults.windows:
        parts.append("<table><tr><th>fault</th><th>start (s)</th><th>end (s)</th>"
                     "<th>value</th></tr>")
        for w in faults.windows:
            end = "never stopped" if w.end == float("inf") else f"{w.end:.3f}"
            parts.append(f"<tr><td>{html.escape(w.kind)}</td><td>{w.start:.3f}</td>"
                         f"<td>{end}</td><td>{_cell(w.value)}</td></tr>")
        parts.append("</table>")
    else:
        parts.append("<p>No faults in this history.</p>")

    parts.append("<h2>Checkers</h2>")
    checkers = results.get("checkers")
    if isinstance(checkers, Mapping):
        parts.append("<table><tr><th>checker</th><th>verdict</th></tr>")
        for name, r in checkers.items():
            v = r.get("valid") if isinstance(r, Mapping) else None
            parts.append(f"<tr><td><a href='#c-{html.escape(name)}'>{html.escape(name)}</a>"
                         f"</td><td>{_verdict(v)}</td></tr>")
        parts.append("</table>")
    parts.extend(_plots(ops, faults, results))
    if isinstance(checkers, Mapping):
        parts.append("<h2>Figures per checker</h2>")
        for name, r in checkers.items():
            if not isinstance(r, Mapping):
                continue
            parts.append(f"<h3 id='c-{html.escape(name)}'>{html.escape(name)} "
                         f"{_verdict(r.get('valid'))}</h3><table>")
            for k, v in r.items():
                if k == "valid":
                    continue
                parts.append(f"<tr><th>{html.escape(k)}</th><td>{_cell(v)}</td></tr>")
            parts.append("</table>")

    parts.append("</body></html>\n")
    return "\n".join(parts)


def _plots(ops: Sequence[Op], faults: Faults, results: Mapping[str, Json]) -> list[str]:
    parts: list[str] = []
    parts.append("<h2>Plots</h2>")
    plots = [
        ("Operation latency over time", latency_plot(ops, faults)),
        ("Reachability per pair over time", reachability_plot(ops, faults)),
        ("Convergence times", convergence_plot(results)),
    ]
    for title, png in plots:
        if png is None:
            parts.append(f"<h3>{title}</h3><p>No data for this plot in the history.</p>")
        else:
            parts.append(f"<h3>{title}</h3><img alt='{title}' src='data:image/png;base64,{png}'>")
    return parts
