"""The `traffic` checker: reachability after the heal versus what the topology implies, loss
per pair and per fault window, and packets that reached a VM of another tenant.

After the final heal, a pair counts as reachable when its last ping sample got an answer. A
pair the topology makes reachable that is not, or an unreachable pair that is, is a mismatch.
Any cross-tenant packet (counted by listeners in the VMs) fails the run."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from chaos.checkers.faults import Faults, faults_of
from chaos.checkers.verdict import UNKNOWN, Valid, jlist
from chaos.history import CROSS_TENANT, EXPECTED, OK, PING, STREAM, Json, Op, pairs


@dataclass(frozen=True, slots=True)
class Sample:
    """One ping sample: `sent` probes from src to dst over [start, end], `received` answered."""

    src: str
    dst: str
    start: float
    end: float
    sent: int
    received: int


def _int(x: Json) -> int | None:
    return x if isinstance(x, int) and not isinstance(x, bool) and x >= 0 else None


def ping_samples(ops: Sequence[Op], f: str = PING) -> tuple[list[Sample], int]:
    """Ping samples in start order, and how many were malformed."""
    out: list[Sample] = []
    bad = 0
    for p in pairs(ops, (f,)):
        if p.type != OK or p.complete is None:
            continue
        v = p.complete.value
        if not isinstance(v, dict):
            bad += 1
            continue
        src, dst, sent, got = v.get("src"), v.get("dst"), _int(v.get("sent")), _int(
            v.get("received")
        )
        if not isinstance(src, str) or not isinstance(dst, str) or sent is None or got is None:
            bad += 1
            continue
        out.append(Sample(src, dst, p.invoke.time, p.complete.time, sent, min(got, sent)))
    return out, bad


def expected_pairs(ops: Sequence[Op]) -> dict[tuple[str, str], bool] | None:
    """The last `expected` op's matrix: (src, dst) -> reachable."""
    found: dict[tuple[str, str], bool] | None = None
    for op in ops:
        if op.f != EXPECTED or op.type != OK or not isinstance(op.value, dict):
            continue
        raw = op.value.get("pairs")
        if not isinstance(raw, list):
            continue
        found = {}
        for e in raw:
            if isinstance(e, dict):
                s, d, r = e.get("src"), e.get("dst"), e.get("reachable")
                if isinstance(s, str) and isinstance(d, str) and isinstance(r, bool):
                    found[(s, d)] = r
    return found


def _loss(sent: int, received: int) -> Json:
    return {
        "sent": sent,
        "received": received,
        "loss": round(1 - received / sent, 4) if sent else None,
    }


def _by_fault(samples: list[Sample], faults: Faults) -> dict[str, Json]:
    acc: dict[str, list[int]] = {}
    for s in samples:
        kinds = {w.kind for w in faults.overlapping(s.start, s.end)} or {"none"}
        for k in kinds:
            a = acc.setdefault(k, [0, 0])
            a[0] += s.sent
            a[1] += s.received
    return {k: _loss(a[0], a[1]) for k, a in sorted(acc.items())}


def _by_window(samples: list[Sample], faults: Faults) -> list[Json]:
    """Loss of the samples that overlap each fault window, one entry per window."""
    out: list[Json] = []
    for w in faults.windows:
        hit = [s for s in samples if w.overlaps(s.start, s.end)]
        sent, got = sum(s.sent for s in hit), sum(s.received for s in hit)
        out.append({"fault": w.kind, "start": round(w.start, 3),
                    "end": round(w.end, 3) if w.end != float("inf") else None,
                    "sent": sent, "received": got,
                    "loss": round(1 - got / sent, 4) if sent else None})
    return out


def check(ops: Sequence[Op]) -> dict[str, Json]:
    faults = faults_of(ops)
    samples, bad = ping_samples(ops)
    expected = expected_pairs(ops)
    heal = faults.final_heal

    cross: dict[str, int] = {}
    for op in ops:
        if op.f == CROSS_TENANT and op.type == OK and isinstance(op.value, dict):
            vm, n = op.value.get("vm"), _int(op.value.get("count"))
            if isinstance(vm, str) and n is not None:
                cross[vm] = max(cross.get(vm, 0), n)
    cross_total = sum(cross.values())

    last: dict[tuple[str, str], Sample] = {}
    for s in samples:
        if heal is not None and s.start >= heal:
            prev = last.get((s.src, s.dst))
            if prev is None or s.end >= prev.end:
                last[(s.src, s.dst)] = s
    observed = {k: s.received > 0 for k, s in last.items()}

    not_reached: list[Json] = []
    leaked: list[Json] = []
    unobserved: list[Json] = []
    if expected is not None:
        for (src, dst), want in sorted(expected.items()):
            got = observed.get((src, dst))
            if got is None:
                unobserved.append([src, dst])
            elif want and not got:
                not_reached.append([src, dst])
            elif got and not want:
                leaked.append([src, dst])

    considered = [s for s in samples if expected is None or expected.get((s.src, s.dst), True)]
    per_pair: dict[str, Json] = {}
    totals: dict[tuple[str, str], list[int]] = {}
    for s in considered:
        a = totals.setdefault((s.src, s.dst), [0, 0])
        a[0] += s.sent
        a[1] += s.received
    for (src, dst), a in sorted(totals.items()):
        per_pair[f"{src}->{dst}"] = _loss(a[0], a[1])

    streams, _ = _streams(ops)

    valid: Valid
    if cross_total > 0 or not_reached or leaked:
        valid = False
    elif expected is None or heal is None or not observed or unobserved:
        valid = UNKNOWN  # nothing to compare the matrix with, or pairs never sampled
    else:
        valid = True
    return {
        "valid": valid,
        "cross_tenant_packets": cross_total,
        "cross_tenant_by_vm": {k: v for k, v in sorted(cross.items()) if v},
        "pairs_expected": len(expected) if expected is not None else None,
        "pairs_reachable_expected": (
            sum(1 for v in expected.values() if v) if expected is not None else None
        ),
        "pairs_observed_after_heal": len(observed),
        "unreachable_after_heal": not_reached,
        "reachable_but_not_expected": leaked,
        "unobserved_pairs": unobserved,
        "sample_count": len(samples),
        "malformed_count": bad,
        "loss": _loss(sum(s.sent for s in considered), sum(s.received for s in considered)),
        "loss_per_pair": per_pair,
        "loss_per_fault": _by_fault(considered, faults),
        "loss_per_window": _by_window(considered, faults),
        "streams": streams,
    }


def _streams(ops: Sequence[Op]) -> tuple[Json, int]:
    total = disconnected = 0
    pairs_seen: set[tuple[str, str]] = set()
    bad = 0
    for p in pairs(ops, (STREAM,)):
        if p.type != OK or p.complete is None or not isinstance(p.complete.value, dict):
            continue
        v = p.complete.value
        src, dst, conn = v.get("src"), v.get("dst"), v.get("connected")
        if not isinstance(src, str) or not isinstance(dst, str) or not isinstance(conn, bool):
            bad += 1
            continue
        pairs_seen.add((src, dst))
        total += 1
        disconnected += 0 if conn else 1
    return {
        "stream_count": len(pairs_seen),
        "sample_count": total,
        "disconnected_samples": disconnected,
        "malformed_count": bad,
        "pairs": jlist([s, d] for s, d in sorted(pairs_seen)),
    }, bad
