"""`meshctl metrics [PATTERN]`: meshd's Prometheus metrics, optionally filtered."""

from __future__ import annotations

import argparse
import math

from mesh.cli.parser import Context, SubCommands


def register(sub: SubCommands) -> None:
    p = sub.add("metrics", "print meshd's Prometheus metrics", run)
    p.add_argument("pattern", nargs="?", help="only series whose name contains PATTERN")


def parse_samples(text: str) -> dict[str, float | None]:
    """Prometheus text exposition -> {series (name and labels): value}; comments skipped."""
    samples: dict[str, float | None] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        series, _, value = line.rpartition(" ")
        if not series:
            continue
        # A trailing timestamp ("name 1 1700000000") is rare; keep the value before it.
        if " " in series and "}" not in series.rsplit(" ", 1)[1]:
            series, _, value = series.rpartition(" ")
        try:
            v = float(value)
            samples[series] = v if math.isfinite(v) else None
        except ValueError:
            continue
    return samples


def run(ctx: Context, args: argparse.Namespace) -> int:
    text = ctx.api.get("/metrics").text()
    pattern = args.pattern or ""
    if ctx.out.json:
        samples = parse_samples(text)
        ctx.out.data({k: v for k, v in samples.items() if pattern in k.split("{", 1)[0]})
        return 0
    for line in text.splitlines():
        if not pattern or (not line.startswith("#") and pattern in line.split("{", 1)[0]):
            ctx.out.line(line)
    return 0
