"""The `convergence` checker: time from a heal until every agent agrees on kv, topology and
members (`state` readings: per-agent digests).

For each heal (a stop-* op or the final `heal`) and each aspect, the convergence time is
the first moment after the heal at which every agent's latest reading taken since the heal
shows the same digest. The figures are over all heals; not converging after the final heal
fails the run."""

from __future__ import annotations

from collections.abc import Sequence

from chaos.checkers.faults import Faults, faults_of
from chaos.checkers.verdict import UNKNOWN, Valid, summary
from chaos.history import OK, STATE, Json, Op

ASPECTS = ("kv", "topology", "members")


def _readings(ops: Sequence[Op]) -> list[tuple[float, str, dict[str, str]]]:
    out: list[tuple[float, str, dict[str, str]]] = []
    for op in ops:
        if op.f != STATE or op.type != OK or not isinstance(op.value, dict):
            continue
        agent = op.value.get("agent") or op.node
        if not isinstance(agent, str):
            continue
        ds = {a: d for a in ASPECTS if isinstance(d := op.value.get(a), str)}
        out.append((op.time, agent, ds))
    out.sort(key=lambda r: r[0])
    return out


def converged_at(
    rs: list[tuple[float, str, dict[str, str]]], agents: frozenset[str], aspect: str,
    t0: float, t1: float,
) -> float | None:
    """First time in [t0, t1) at which all agents' latest readings of `aspect` agree."""
    latest: dict[str, str] = {}
    for t, agent, ds in rs:
        if t < t0 or agent not in agents or aspect not in ds:
            continue
        if t >= t1:
            break
        latest[agent] = ds[aspect]
        if len(latest) == len(agents) and len(set(latest.values())) == 1:
            return t
    return None


def heal_points(faults: Faults) -> list[tuple[float, bool]]:
    """The moments the whole mesh became fault-free, and which one is the final heal.

    A heal while another fault is still on does not count; a heal with nothing left to heal
    (the final `heal` right after the last `stop-*`) is the same moment as the one before it,
    so the mesh is measured from the earlier one."""
    starts = sorted(w.start for w in faults.windows)
    points: list[float] = []
    for h in faults.heals:
        if faults.active(h + 1e-9):
            continue
        if points and not any(points[-1] < s <= h for s in starts):
            continue  # nothing started since the previous heal point
        points.append(h)
    final = faults.final_heal
    out: list[tuple[float, bool]] = []
    for i, p in enumerate(points):
        last = i == len(points) - 1
        out.append((p, final is not None and last and p <= final))
    return out


def check(ops: Sequence[Op]) -> dict[str, Json]:
    rs = _readings(ops)
    faults = faults_of(ops)
    agents = frozenset(a for _, a, _ in rs)
    starts = sorted(w.start for w in faults.windows)
    samples: list[float] = []
    final: dict[str, Json] = {}
    not_converged: list[Json] = []
    per_heal: list[Json] = []
    for h, is_final in heal_points(faults):
        nxt = next((s for s in starts if s > h), float("inf"))
        times: list[float] = []
        complete = True
        row: dict[str, Json] = {"heal": round(h, 4), "final": is_final}
        for aspect in ASPECTS:
            if not any(aspect in ds and h <= t < nxt for t, _, ds in rs):
                continue  # not read after this heal
            at = converged_at(rs, agents, aspect, h, nxt)
            if is_final:
                final[aspect] = None if at is None else round(at - h, 4)
                if at is None:
                    not_converged.append(aspect)
            row[aspect] = None if at is None else round(at - h, 4)
            if at is None:
                complete = False
            else:
                times.append(at - h)
        if len(row) > 2:
            per_heal.append(row)
        if times and complete:
            samples.append(max(times))  # until every aspect agrees

    valid: Valid
    if not_converged:
        valid = False
    elif faults.final_heal is None or not final:
        valid = UNKNOWN  # no final heal, or no readings after it
    else:
        valid = True
    s = summary(samples)
    return {
        "valid": valid,
        "agents": len(agents),
        "reading_count": len(rs),
        "final_heal": faults.final_heal,
        "measured_from": next((round(h, 4) for h, fin in heal_points(faults) if fin), None),
        "final": final,
        "not_converged": list(not_converged),
        "heals_measured": s["count"],
        "p50": s["p50"],
        "p99": s["p99"],
        "max": s["max"],
        "per_heal": per_heal,
    }
