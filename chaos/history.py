"""The chaos history: Jepsen's operation model, one JSON object a line (docs/chaos.md).

Pure values and (de)serialisation only; the runner writes histories, the checkers read them."""

from __future__ import annotations

import gzip
import hashlib
import json
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Literal, TypeAlias

Json: TypeAlias = "bool | int | float | str | Sequence[Json] | Mapping[str, Json] | None"
"""A JSON value. Read-only containers (covariant), so a list[int] is a Json."""
OpType: TypeAlias = Literal["invoke", "ok", "fail", "info"]

INVOKE: OpType = "invoke"
OK: OpType = "ok"
FAIL: OpType = "fail"
INFO: OpType = "info"
TYPES: frozenset[str] = frozenset({INVOKE, OK, FAIL, INFO})
NEMESIS: Literal["nemesis"] = "nemesis"

# --- client operation names (workloads) ---
ADD = "add"  # set: invoke/ok value = the element (int or str)
READ = "read"  # set: invoke value null, ok value = list of elements seen
CREATE = "create"  # topology: invoke {"kind","fields"}, ok {"kind","id","fields"}
UPDATE = "update"  # topology: {"kind","id","fields"} (only the fields written)
DELETE = "delete"  # topology: {"kind","id"}
DIGEST = "digest"  # topology: final per-agent read {"agent","digest","objects"}
PING = "ping"  # traffic: ok {"src","dst","sent","received"} over [invoke, ok]
STREAM = "stream"  # traffic: ok {"src","dst","connected","bytes"} over [invoke, ok]
CROSS_TENANT = "cross-tenant"  # traffic: ok {"vm","tenant","count"} (cumulative)
EXPECTED = "expected"  # traffic: ok {"pairs": [{"src","dst","reachable"}], "vms": {...}}
MEMBERS = "members"  # membership: ok {"observer", "members": {host: state}}
SESSION = "session"  # sessions: ok {"id","src","dst","state","bytes"}
STATE = "state"  # convergence: ok {"agent","kv","topology","members"} (digests)

# --- nemesis operation names: "start-<fault>" / "stop-<fault>", and the final "heal" ---
HEAL = "heal"
FAULTS: tuple[str, ...] = (
    "partition",
    "loss",
    "kill",
    "pause",
    "clock",
    "zk-kill",
    "cassandra-kill",
    "restart-storm",
)
START = "start-"
STOP = "stop-"


class HistoryError(ValueError):
    """A history line that does not follow the model; names the line (1-based)."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"line {line}: {message}" if line > 0 else message)
        self.line = line
        self.message = message


@dataclass(frozen=True, slots=True)
class Op:
    """One history entry. `node` names the agent host a client talked to (optional);
    `error` is a short reason on fail/info (optional)."""

    time: float
    process: int | str
    type: str
    f: str
    value: Json = None
    node: str | None = None
    error: str | None = None

    @property
    def is_nemesis(self) -> bool:
        return self.process == NEMESIS

    def to_dict(self) -> dict[str, Json]:
        out: dict[str, Json] = {
            "time": self.time,
            "process": self.process,
            "type": self.type,
            "f": self.f,
            "value": self.value,
        }
        if self.node is not None:
            out["node"] = self.node
        if self.error is not None:
            out["error"] = self.error
        return out


def op_from_dict(raw: object, line: int = 0) -> Op:
    """Validate one decoded line; raise HistoryError naming what is wrong."""
    if not isinstance(raw, dict):
        raise HistoryError(line, f"expected a JSON object, got {type(raw).__name__}")
    for key in ("time", "process", "type", "f"):
        if key not in raw:
            raise HistoryError(line, f"missing {key!r}")
    t = raw["time"]
    if isinstance(t, bool) or not isinstance(t, int | float) or not math.isfinite(t) or t < 0:
        raise HistoryError(line, f"'time' must be a non-negative number of seconds, got {t!r}")
    p = raw["process"]
    if not ((isinstance(p, int) and not isinstance(p, bool)) or p == NEMESIS):
        raise HistoryError(line, f"'process' must be an integer or \"nemesis\", got {p!r}")
    typ = raw["type"]
    if typ not in TYPES:
        raise HistoryError(line, f"'type' must be one of invoke/ok/fail/info, got {typ!r}")
    f = raw["f"]
    if not isinstance(f, str) or not f:
        raise HistoryError(line, f"'f' must be a non-empty string, got {f!r}")
    node = raw.get("node")
    if node is not None and not isinstance(node, str):
        raise HistoryError(line, f"'node' must be a string, got {node!r}")
    error = raw.get("error")
    if error is not None and not isinstance(error, str):
        error = json.dumps(error)
    return Op(float(t), p, typ, f, raw.get("value"), node, error)


def parse_lines(lines: Iterable[str]) -> list[Op]:
    """Decode jsonl text; blank lines are skipped, anything else must be a valid op."""
    ops: list[Op] = []
    for n, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        try:
            raw = json.loads(text)
        except json.JSONDecodeError as e:
            raise HistoryError(n, f"not JSON ({e.msg} at column {e.colno})") from None
        ops.append(op_from_dict(raw, n))
    return ops


def _open_text(path: str | Path) -> IO[str]:
    if str(path).endswith(".gz"):
        return gzip.open(path, "rt", encoding="utf-8", errors="strict")
    return open(path, encoding="utf-8", errors="strict")


def load(path: str | Path) -> list[Op]:
    """Read a history file (`.gz`: gzip-compressed). Raises OSError (unreadable, or not a
    gzip stream) or HistoryError (bad line)."""
    with _open_text(path) as fh:
        try:
            return parse_lines(fh)
        except UnicodeDecodeError as e:
            raise HistoryError(0, f"not UTF-8 text ({e.reason})") from None
        except EOFError:
            raise HistoryError(0, "truncated gzip stream") from None


def dumps_op(op: Op) -> str:
    return json.dumps(op.to_dict(), separators=(",", ":"), sort_keys=False, allow_nan=False)


def write_op(fh: IO[str], op: Op) -> None:
    """Append one op as a line and flush, so a crashed run still leaves a readable history."""
    fh.write(dumps_op(op) + "\n")
    fh.flush()


def save(path: str | Path, ops: Iterable[Op]) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        for op in ops:
            fh.write(dumps_op(op) + "\n")


# --- helpers the checkers share ---


@dataclass(frozen=True, slots=True)
class Pair:
    """An invocation and its completion (None when the history ends first: indeterminate)."""

    invoke: Op
    complete: Op | None

    @property
    def type(self) -> str:
        """The outcome: ok, fail, or info (a missing completion counts as info)."""
        return self.complete.type if self.complete is not None else INFO

    @property
    def value(self) -> Json:
        if self.complete is not None and self.complete.value is not None:
            return self.complete.value
        return self.invoke.value

    @property
    def end(self) -> float:
        return self.complete.time if self.complete is not None else math.inf


def pairs(ops: Sequence[Op], fs: Iterable[str] | None = None) -> list[Pair]:
    """Pair each client invoke with the next completion of the same process and f.

    A process has at most one operation outstanding (Jepsen's rule). Completions without an
    invoke (e.g. samples logged as a single `ok`) become pairs whose invoke is themselves."""
    wanted = None if fs is None else frozenset(fs)
    open_: dict[tuple[int | str, str], Op] = {}
    out: list[Pair] = []
    for op in ops:
        if op.is_nemesis or (wanted is not None and op.f not in wanted):
            continue
        key = (op.process, op.f)
        if op.type == INVOKE:
            if key in open_:  # a second invoke: the first one never completed
                out.append(Pair(open_[key], None))
            open_[key] = op
        else:
            inv = open_.pop(key, None)
            out.append(Pair(inv if inv is not None else op, op))
    out.extend(Pair(inv, None) for inv in open_.values())
    out.sort(key=lambda p: p.invoke.time)
    return out


def canonical_json(value: Json) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)


def topology_digest(objects: Mapping[str, Mapping[str, Mapping[str, Json]]]) -> str:
    """The digest a `digest` read reports: sha256 of the canonical JSON of
    {kind: {id: {field: value}}} (kinds/ids/fields sorted), empty kinds dropped."""
    trimmed = {k: {i: dict(f) for i, f in objs.items()} for k, objs in objects.items() if objs}
    return hashlib.sha256(canonical_json(trimmed).encode()).hexdigest()


def iter_type(ops: Iterable[Op], f: str, typ: str = OK) -> Iterator[Op]:
    return (op for op in ops if op.f == f and op.type == typ)
