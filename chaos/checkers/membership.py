"""The `membership` checker: false dead declarations, flaps, time to detect a killed host,
time to re-admit it.

A dead declaration (an observer's view of a member turning to dead) is justified when, in
the CAUSE_WINDOW before it, the member or the observer was killed or paused, the member was
cut off from a majority, or the observer could reach the member neither directly nor through
one other host (SWIM's indirect probe). One made while the member or observer had packet
loss is reported apart (`dead_during_loss_count`). Anything else is a false positive and
fails the run, as does a host that is up at the end but not alive in every observer's last
view."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from chaos.checkers.faults import Faults, HostPair, faults_of
from chaos.checkers.verdict import UNKNOWN, Valid, jlist, summary
from chaos.history import MEMBERS, OK, Json, Op

CAUSE_WINDOW = 30.0
"""Seconds a fault may precede the dead declaration it explains: SWIM's suspicion timeout
ceiling (suspicion_mult 4 x max timeout mult 6 x 1 s probe interval = 24 s on the LAN
profile) plus a probe round and the reading interval."""

DEAD_STATES = frozenset({"dead", "left"})


@dataclass(frozen=True, slots=True)
class Reading:
    time: float
    observer: str
    members: dict[str, str]


def readings(ops: Sequence[Op]) -> list[Reading]:
    out: list[Reading] = []
    for op in ops:
        if op.f != MEMBERS or op.type != OK or not isinstance(op.value, dict):
            continue
        obs, mem = op.value.get("observer") or op.node, op.value.get("members")
        if not isinstance(obs, str) or not isinstance(mem, dict):
            continue
        out.append(
            Reading(op.time, obs, {h: s for h, s in mem.items() if isinstance(s, str)})
        )
    out.sort(key=lambda r: r.time)
    return out


def _connected(a: str, b: str, blocked: frozenset[HostPair], hosts: frozenset[str]) -> bool:
    def ok(x: str, y: str) -> bool:
        return x == y or ((x, y) if x <= y else (y, x)) not in blocked

    return ok(a, b) or any(ok(a, c) and ok(c, b) for c in hosts if c not in (a, b))


def _instants(faults: Faults, t0: float, t1: float) -> list[float]:
    ts = {t0, t1}
    for w in faults.overlapping(t0, t1, "partition"):
        ts.update(x for x in (w.start, w.end) if t0 <= x <= t1)
    return sorted(ts)


def justified(faults: Faults, hosts: frozenset[str], obs: str, mem: str, t: float) -> str | None:
    """Why `obs` may rightly declare `mem` dead at t, or None (a false positive)."""
    t0 = max(0.0, t - CAUSE_WINDOW)
    if faults.down(mem, t0, t):
        return "member down"
    if faults.down(obs, t0, t):
        return "observer down"
    for x in _instants(faults, t0, t):
        blocked = faults.blocked_at(x)
        if not blocked:
            continue
        reach = sum(1 for h in hosts if h == mem or _connected(mem, h, blocked, frozenset()))
        if reach * 2 <= len(hosts):
            return "member in a minority"
        if not _connected(obs, mem, blocked, hosts):
            return "observer cut from member"
    if faults.lossy(mem, t0, t) or faults.lossy(obs, t0, t):
        return "loss"
    return None


def check(ops: Sequence[Op]) -> dict[str, Json]:
    rs = readings(ops)
    faults = faults_of(ops)
    hosts = frozenset(
        {r.observer for r in rs} | {m for r in rs for m in r.members} | faults.hosts
    )
    prev: dict[tuple[str, str], tuple[float, str]] = {}
    false_pos: list[Json] = []
    during_loss = 0
    declarations = 0
    flaps = 0
    unexplained_flaps = 0
    left_alive: dict[tuple[str, str], float] = {}  # when the view stopped being alive
    for r in rs:
        for mem, state in r.members.items():
            if mem == r.observer:
                continue
            key = (r.observer, mem)
            before = prev.get(key)
            prev[key] = (r.time, state)
            if before is None:
                continue
            _, old = before
            if state in DEAD_STATES and old not in DEAD_STATES:
                declarations += 1
                why = justified(faults, hosts, r.observer, mem, r.time)
                if why == "loss":
                    during_loss += 1
                elif why is None:
                    false_pos.append({"time": round(r.time, 3), "observer": r.observer,
                                      "member": mem})
            if old == "alive" and state != "alive":
                left_alive[key] = r.time
            elif state == "alive" and old != "alive" and key in left_alive:
                flaps += 1
                t_left = left_alive.pop(key)
                if justified(faults, hosts, r.observer, mem, t_left) is None and justified(
                    faults, hosts, r.observer, mem, r.time
                ) is None:
                    unexplained_flaps += 1

    detect: list[float] = []
    readmit: list[float] = []
    undetected = 0
    not_readmitted: list[Json] = []
    for w in faults.windows:
        if w.fault not in ("kill", "pause", "restart-storm"):
            continue
        for mem in sorted(w.hosts):
            observers = {r.observer for r in rs} - {mem}
            for obs in sorted(observers):
                mine = [r for r in rs if r.observer == obs and mem in r.members]
                seen_dead = next(
                    (r.time for r in mine
                     if w.start <= r.time <= w.end and r.members[mem] in DEAD_STATES),
                    None,
                )
                if w.fault == "kill":
                    if seen_dead is None:
                        undetected += 1
                    else:
                        detect.append(seen_dead - w.start)
                was_out = any(
                    w.start <= r.time <= w.end and r.members[mem] != "alive" for r in mine
                )
                if w.end == float("inf") or not was_out:
                    continue
                back = next(
                    (r.time for r in mine if r.time >= w.end and r.members[mem] == "alive"), None
                )
                if back is None:
                    not_readmitted.append({"member": mem, "observer": obs,
                                           "restarted": round(w.end, 3)})
                else:
                    readmit.append(back - w.end)

    final_not_alive: list[Json] = []
    last: dict[str, Reading] = {}
    for r in rs:
        last[r.observer] = r
    for obs, r in sorted(last.items()):
        for mem, state in sorted(r.members.items()):
            if mem != obs and state != "alive" and not faults.down(mem, r.time, r.time):
                final_not_alive.append({"observer": obs, "member": mem, "state": state})

    valid: Valid = UNKNOWN if not rs else not (false_pos or final_not_alive)
    return {
        "valid": valid,
        "reading_count": len(rs),
        "hosts": jlist(sorted(hosts)),
        "dead_declarations": declarations,
        "false_positive_count": len(false_pos),
        "false_positives": jlist(false_pos[:100]),
        "dead_during_loss_count": during_loss,
        "flap_count": flaps,
        "unexplained_flap_count": unexplained_flaps,
        "detect_time": dict(summary(detect)),
        "undetected_kill_count": undetected,
        "readmit_time": dict(summary(readmit)),
        "not_readmitted": jlist(not_readmitted[:100]),
        "final_not_alive": jlist(final_not_alive[:100]),
        "cause_window": CAUSE_WINDOW,
    }
