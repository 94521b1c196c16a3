"""The checkers: pure functions history -> result dict with "valid" (true, false or
"unknown") and figures, and `check_history`, which picks the ones the history has ops for and
builds the results.json value."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from chaos.checkers import convergence, membership, sessions, set_full, topology, traffic
from chaos.checkers.verdict import UNKNOWN, Valid, combine
from chaos.history import (
    ADD,
    CREATE,
    CROSS_TENANT,
    DELETE,
    DIGEST,
    EXPECTED,
    MEMBERS,
    PING,
    READ,
    SESSION,
    STATE,
    STREAM,
    UPDATE,
    Json,
    Op,
)


@dataclass(frozen=True, slots=True)
class Checker:
    name: str
    fs: frozenset[str]  # the op names that make a history need this checker
    check: Callable[[Sequence[Op]], dict[str, Json]]


CHECKERS: tuple[Checker, ...] = (
    Checker("set", frozenset({ADD, READ}), set_full.check),
    Checker("topology", frozenset({CREATE, UPDATE, DELETE, DIGEST}), topology.check),
    Checker("traffic", frozenset({PING, STREAM, CROSS_TENANT, EXPECTED}), traffic.check),
    Checker("membership", frozenset({MEMBERS}), membership.check),
    Checker("sessions", frozenset({SESSION}), sessions.check),
    Checker("convergence", frozenset({STATE}), convergence.check),
)
BY_NAME = {c.name: c for c in CHECKERS}


def applicable(ops: Iterable[Op]) -> list[str]:
    """Names of the checkers whose ops appear in the history (client ops only)."""
    fs = {op.f for op in ops if not op.is_nemesis}
    return [c.name for c in CHECKERS if c.fs & fs]


def check_history(ops: Sequence[Op], names: Iterable[str] | None = None) -> dict[str, Json]:
    """The results.json value: {"valid": ..., "checkers": {name: {"valid": ..., ...}}}.

    A checker that raises is reported as "unknown" with the error, never as a crash."""
    chosen = list(names) if names is not None else applicable(ops)
    results: dict[str, Json] = {}
    verdicts: list[Valid] = []
    for name in chosen:
        checker = BY_NAME[name]
        try:
            r = checker.check(ops)
        except Exception as e:  # a checker bug must not hide the other verdicts
            r = {"valid": UNKNOWN, "error": f"{type(e).__name__}: {e}"}
        v = r.get("valid")
        verdicts.append(v if v is True or v is False else UNKNOWN)
        results[name] = r
    overall: Valid = combine(verdicts) if chosen else UNKNOWN
    return {"valid": overall, "checkers": results}
