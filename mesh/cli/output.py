"""Output for people (aligned tables, plain values) and for scripts (JSON)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TextIO

Column = tuple[str, str]  # (header, field of the row object)


def cell(value: Any) -> str:
    """A value as a table cell: '-' for nothing, compact JSON for structures."""
    if value is None or value == "":
        return "-"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value.replace("\n", " ").replace("\t", " ")
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False)


def table(rows: Sequence[Mapping[str, Any]], columns: Sequence[Column]) -> str:
    """Left-aligned columns separated by two spaces, headers first (no trailing blanks)."""
    grid = [[h for h, _ in columns]]
    grid += [[cell(row.get(f)) for _, f in columns] for row in rows]
    widths = [max(len(r[i]) for r in grid) for i in range(len(columns))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in grid
    )


def pretty(value: Any) -> str:
    """A single value for people: strings as they are, anything else as indented JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False)


@dataclass(frozen=True, slots=True)
class Output:
    """Where and how a command prints: `json` for scripts, else for people."""

    stream: TextIO
    json: bool = False

    def line(self, text: str) -> None:
        self.stream.write(text + "\n")

    def data(self, value: Any) -> None:
        self.line(json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False))

    def record(self, obj: Mapping[str, Any]) -> None:
        """One object: JSON for scripts, else `field: value` lines (status, id, name first)."""
        if self.json:
            self.data(dict(obj))
            return
        first = {"status": 0, "id": 1, "name": 2}
        order = sorted(obj, key=lambda k: (first.get(k, 3), k))
        width = max((len(k) for k in obj), default=0)
        for k in order:
            self.line(f"{k + ':':<{width + 1}} {cell(obj[k])}")

    def rows(self, rows: Sequence[Mapping[str, Any]], columns: Sequence[Column]) -> None:
        """JSON list for scripts, else a table (a header only if there are no rows)."""
        if self.json:
            self.data(list(rows))
        else:
            self.line(table(rows, columns))
