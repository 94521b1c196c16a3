"""Chains compiled to one generated Python function (the hot path for long chains).

`first_match(p, i, o, start)` returns the index of the first rule at or after `start`
whose conditions hold (or -1). Rules whose action is `continue` are left out: matching
one changes nothing. Constants reach the code through the function's namespace, never
through the source text, except ints and rule indexes. conditions.py keeps the reference
semantics (one closure per condition); tests check both agree.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from services.simulation.conditions import CONDITIONS, FRAGMENT_OK
from services.simulation.packet import Packet
from services.topology.addr import Cidr
from services.topology.fields import Condition, FieldSpec
from services.topology.rule import Rule
from services.topology.snapshot import Topology

FirstMatch = Callable[[Packet, str, "str | None", int], int]
_ALL_MAC = 0xFFFFFFFFFFFF


class _Emitter:
    def __init__(self) -> None:
        self.ns: dict[str, object] = {}
        self.fields: set[str] = set()

    def const(self, value: object) -> str:
        name = f"K{len(self.ns)}"
        self.ns[name] = value
        return name

    def field(self, name: str) -> str:
        self.fields.add(name)
        return f"f_{name}"


def _cidr(e: _Emitter, attr: str, mask: int, net: int) -> str:
    v = e.field(attr)
    if mask == 0:
        return f"{v} is not None"
    return f"({v} is not None and ({v} & {mask}) == {net})"


def _expr(rule: Rule, spec: FieldSpec, cond: Condition, topo: Topology, e: _Emitter) -> str:
    """The source of one set condition (declared in services/topology/rule.py)."""
    value: object = getattr(rule, spec.name)
    attr = cond.reads or ""
    if cond.test == "in_port":
        assert isinstance(value, tuple)
        return f"i in {e.const(frozenset(value))}"
    if cond.test == "out_port":
        assert isinstance(value, tuple)
        return f"o in {e.const(frozenset(value))}"
    if cond.test in ("in_group", "out_group"):
        assert isinstance(value, str)
        g = topo.port_group_members.get(value, frozenset())
        return f"{'i' if cond.test == 'in_group' else 'o'} in {e.const(g)}"
    if cond.test == "mac":
        assert isinstance(value, int)
        mask: object = getattr(rule, cond.mask_field) if cond.mask_field else None
        m = mask if isinstance(mask, int) else _ALL_MAC
        return f"({e.field(attr)} & {m}) == {value & m}"
    if cond.test == "eq":
        return f"{e.field(attr)} == {value}"
    if cond.test == "cidr":
        assert isinstance(value, Cidr)
        return _cidr(e, attr, value.mask, value.network)
    if cond.test == "ip_group":
        assert isinstance(value, str)
        group = topo.ip_address_groups.get(value)
        prefixes = group.addresses if group is not None else ()
        hosts = frozenset(c.addr for c in prefixes if c.plen == 32)
        nets = tuple((c.mask, c.network) for c in prefixes if c.plen < 32)
        v = e.field(attr)
        expr = f"{v} in {e.const(hosts)}"
        if nets:
            expr += f" or any(({v} & m) == n for m, n in {e.const(nets)})"
        return f"({v} is not None and ({expr}))"
    if cond.test == "range":
        assert isinstance(value, tuple)
        v = e.field(attr)
        return f"({v} is not None and {value[0]} <= {v} <= {value[1]})"
    assert isinstance(value, str)
    return f"{e.field(attr)} in {e.const(FRAGMENT_OK[value])}"


def _conds(rule: Rule, topo: Topology, e: _Emitter) -> list[tuple[str, str]]:
    return [
        (spec.name, _expr(rule, spec, cond, topo, e))
        for spec, cond in CONDITIONS
        if getattr(rule, spec.name) is not None
    ]


def compile_chain(rules: tuple[Rule, ...], topo: Topology) -> FirstMatch:
    """The generated first-match function of a chain's rules (in position order)."""
    e = _Emitter()
    body: list[str] = []
    for k, rule in enumerate(rules):
        if rule.action == "continue":
            continue
        inverted = set(rule.invert)
        parts = [f"not ({c})" if n in inverted else c for n, c in _conds(rule, topo, e)]
        test = " and ".join(parts) if parts else "True"
        body.append(f"    if start <= {k} and {test}:\n        return {k}")
    loads = [f"    f_{f} = p.{f}" for f in sorted(e.fields)]
    src = "def first_match(p, i, o, start):\n" + "\n".join([*loads, *body, "    return -1"]) + "\n"
    ns: dict[str, Any] = dict(e.ns)  # exec fills it with the generated function
    exec(compile(src, "<chain>", "exec"), ns)
    fn: FirstMatch = ns["first_match"]
    return fn
