"""The `topology` checker: after the heal every agent lists the same topology (digests),
and that topology is the merge docs/services.md specifies for the acknowledged writes.

The model, per object (kind, id): it exists iff an acknowledged `create` returned that id
and no `delete` of it was acknowledged (remove wins: a concurrent update cannot revive it);
an indeterminate delete allows either. Each field the workload wrote ends with the value of
one of its last writers (per-field LWW): a write (create, update) stays a candidate unless an
acknowledged write of the same field began after it had been acknowledged. That real-time
rule holds because the hosts share one wall clock; with a `clock` fault in the history every
write stays a candidate. Indeterminate (`info`) writes are always candidates, and an object
no acknowledged create explains must match the fields of an indeterminate create."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from chaos.checkers.faults import faults_of
from chaos.checkers.verdict import UNKNOWN, Valid, combine, jlist
from chaos.history import (
    CREATE,
    DELETE,
    DIGEST,
    FAIL,
    INFO,
    OK,
    UPDATE,
    Json,
    Op,
    Pair,
    canonical_json,
    pairs,
    topology_digest,
)

LIST_CAP = 100

Objects = dict[str, dict[str, dict[str, Json]]]


@dataclass(frozen=True, slots=True)
class _Write:
    start: float
    end: float  # inf when indeterminate
    values: frozenset[str]  # canonical JSON of the value(s) it may have written
    definite: bool


@dataclass(slots=True)
class _Object:
    kind: str
    id: str
    writes: dict[str, list[_Write]] = field(default_factory=dict)
    deleted: str = "no"  # no | yes | maybe
    created: bool = False  # an acknowledged create returned this id


def _fields(v: Json) -> dict[str, Json]:
    if isinstance(v, dict):
        f = v.get("fields")
        if isinstance(f, dict):
            return {k: x for k, x in f.items() if k != "id"}
    return {}


def _str(v: Json, key: str) -> str | None:
    if isinstance(v, dict):
        x = v.get(key)
        if isinstance(x, str):
            return x
    return None


def _write_of(p: Pair, name: str, written: Json) -> _Write:
    vals = {canonical_json(written)}
    if p.complete is not None:
        returned = _fields(p.complete.value)
        if name in returned:
            vals.add(canonical_json(returned[name]))  # the server's normal form
    definite = p.type == OK
    end = p.end if definite else math.inf
    return _Write(p.invoke.time, end, frozenset(vals), definite)


def _candidates(writes: list[_Write], real_time: bool) -> frozenset[str]:
    out: set[str] = set()
    for w in writes:
        superseded = real_time and any(o.definite and o.start > w.end for o in writes)
        if not superseded:
            out |= w.values
    return frozenset(out)


def _final_states(ops: Sequence[Op]) -> dict[str, tuple[str, Objects | None]]:
    """agent -> (digest, objects or None), the last `digest` read of each agent."""
    out: dict[str, tuple[str, Objects | None]] = {}
    for p in pairs(ops, (DIGEST,)):
        if p.type != OK or p.complete is None or not isinstance(p.complete.value, dict):
            continue
        v = p.complete.value
        agent = _str(v, "agent") or p.complete.node or str(p.invoke.process)
        objs_raw = v.get("objects")
        objects: Objects | None = None
        if isinstance(objs_raw, dict):
            objects = {
                str(kind): {
                    str(i): {k: x for k, x in fs.items()} for i, fs in ids.items()
                    if isinstance(fs, dict)
                }
                for kind, ids in objs_raw.items()
                if isinstance(ids, dict)
            }
        digest = topology_digest(objects) if objects is not None else _str(v, "digest")
        if digest is not None:
            out[agent] = (digest, objects)
    return out


def check(ops: Sequence[Op]) -> dict[str, Json]:
    real_time = not any(w.fault == "clock" for w in faults_of(ops).windows)
    model: dict[tuple[str, str], _Object] = {}
    pending_creates: list[tuple[str, dict[str, Json]]] = []  # indeterminate: id unknown
    counts = {"create": 0, "update": 0, "delete": 0, "indeterminate": 0, "failed": 0}
    for p in pairs(ops, (CREATE, UPDATE, DELETE)):
        f = p.invoke.f
        counts[f] += 1
        if p.type == FAIL:
            counts["failed"] += 1
            continue
        if p.type == INFO:
            counts["indeterminate"] += 1
        kind = _str(p.invoke.value, "kind") or _str(p.value, "kind")
        if kind is None:
            continue
        written = _fields(p.invoke.value)
        if f == CREATE:
            oid = _str(p.complete.value, "id") if p.complete is not None else None
            if p.type != OK or oid is None:
                pending_creates.append((kind, written))
                continue
            obj = model.setdefault((kind, oid), _Object(kind, oid))
            obj.created = True
            for name, x in written.items():
                obj.writes.setdefault(name, []).append(_write_of(p, name, x))
            continue
        oid = _str(p.invoke.value, "id")
        if oid is None:
            continue
        obj = model.setdefault((kind, oid), _Object(kind, oid))
        if f == UPDATE:
            for name, x in written.items():
                obj.writes.setdefault(name, []).append(_write_of(p, name, x))
        elif p.type == OK:
            obj.deleted = "yes"
        elif obj.deleted == "no":
            obj.deleted = "maybe"

    finals = _final_states(ops)
    digests = sorted({d for d, _ in finals.values()})
    agree: Valid = UNKNOWN if not finals else len(digests) == 1

    missing: list[str] = []
    resurrected: list[str] = []
    mismatched: list[dict[str, Json]] = []
    phantoms: list[str] = []
    explained_by_indeterminate = 0
    compared = 0
    states = {d: objs for d, objs in finals.values() if objs is not None}
    for objs in states.values():
        compared += 1
        for (kind, oid), obj in model.items():
            if not obj.created:
                continue  # only updates/deletes by id: judged below if it shows up
            present = oid in objs.get(kind, {})
            if obj.deleted == "yes" and present:
                resurrected.append(f"{kind}/{oid}")
            elif obj.deleted == "no" and not present:
                missing.append(f"{kind}/{oid}")
            if present:
                actual = objs[kind][oid]
                for name, ws in obj.writes.items():
                    cands = _candidates(ws, real_time)
                    got = canonical_json(actual[name]) if name in actual else None
                    if got not in cands:
                        mismatched.append(
                            {"object": f"{kind}/{oid}", "field": name, "got": got,
                             "expected_one_of": jlist(sorted(cands))}
                        )
        for kind, ids in objs.items():
            for oid, actual in ids.items():
                known = model.get((kind, oid))
                if known is not None and known.created:
                    continue
                if any(k == kind and _matches(actual, w) for k, w in pending_creates):
                    explained_by_indeterminate += 1
                else:
                    phantoms.append(f"{kind}/{oid}")

    # UNKNOWN when no agent reported its objects: nothing to compare
    bad = bool(missing or resurrected or mismatched or phantoms)
    model_valid: Valid = UNKNOWN if not states else not bad
    return {
        "valid": combine([agree, model_valid]),
        "agents": len(finals),
        "digests_agree": agree,
        "distinct_digests": len(digests),
        "model_valid": model_valid,
        "states_compared": compared,
        "objects_expected": sum(
            1 for o in model.values() if o.created and o.deleted != "yes"
        ),
        "create_count": counts["create"],
        "update_count": counts["update"],
        "delete_count": counts["delete"],
        "failed_count": counts["failed"],
        "indeterminate_count": counts["indeterminate"],
        "explained_by_indeterminate_create": explained_by_indeterminate,
        "missing_count": len(missing),
        "missing": jlist(sorted(set(missing))[:LIST_CAP]),
        "resurrected_count": len(resurrected),
        "resurrected": jlist(sorted(set(resurrected))[:LIST_CAP]),
        "phantom_count": len(phantoms),
        "phantoms": jlist(sorted(set(phantoms))[:LIST_CAP]),
        "field_mismatch_count": len(mismatched),
        "field_mismatches": jlist(mismatched[:LIST_CAP]),
        "lww_order": "real-time" if real_time else "any (clock fault present)",
    }


def _matches(actual: Mapping[str, Json], written: Mapping[str, Json]) -> bool:
    return all(
        name in actual and canonical_json(actual[name]) == canonical_json(x)
        for name, x in written.items()
    )
