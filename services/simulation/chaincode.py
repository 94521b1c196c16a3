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

from services.simulation.packet import FRAGMENTS, Packet
from services.topology.rule import Rule
from services.topology.snapshot import Topology

FirstMatch = Callable[[Packet, str, "str | None", int], int]
_ALL_MAC = 0xFFFFFFFFFFFF
_FRAGMENT_OK = {
    "any": frozenset(FRAGMENTS),
    "header": frozenset({"no", "first"}),
    "nonheader": frozenset({"later"}),
    "unfragmented": frozenset({"no"}),
}


class _Emitter:
    def __init__(self) -> None:
        self.ns: dict[str, Any] = {}
        self.fields: set[str] = set()

    def const(self, value: Any) -> str:
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


def _conds(rule: Rule, topo: Topology, e: _Emitter) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    if rule.in_port_ids is not None:
        out.append(("in_port_ids", f"i in {e.const(frozenset(rule.in_port_ids))}"))
    if rule.out_port_ids is not None:
        out.append(("out_port_ids", f"o in {e.const(frozenset(rule.out_port_ids))}"))
    if rule.in_port_group_id is not None:
        g = topo.port_group_members.get(rule.in_port_group_id, frozenset())
        out.append(("in_port_group_id", f"i in {e.const(g)}"))
    if rule.out_port_group_id is not None:
        g = topo.port_group_members.get(rule.out_port_group_id, frozenset())
        out.append(("out_port_group_id", f"o in {e.const(g)}"))
    for name in ("eth_src", "eth_dst"):
        mac = getattr(rule, name)
        if mac is not None:
            m = getattr(rule, f"{name}_mask")
            m = _ALL_MAC if m is None else m
            out.append((name, f"({e.field(name)} & {m}) == {mac & m}"))
    if rule.ethertype is not None:
        out.append(("ethertype", f"{e.field('ethertype')} == {rule.ethertype}"))
    for name in ("ip_src", "ip_dst"):
        c = getattr(rule, name)
        if c is not None:
            out.append((name, _cidr(e, name, c.mask, c.network)))
    for name, attr in (("ip_src_group_id", "ip_src"), ("ip_dst_group_id", "ip_dst")):
        gid = getattr(rule, name)
        if gid is not None:
            group = topo.ip_address_groups.get(gid)
            prefixes = group.addresses if group is not None else ()
            hosts = frozenset(c.addr for c in prefixes if c.plen == 32)
            nets = tuple((c.mask, c.network) for c in prefixes if c.plen < 32)
            v = e.field(attr)
            expr = f"{v} in {e.const(hosts)}"
            if nets:
                expr += f" or any(({v} & m) == n for m, n in {e.const(nets)})"
            out.append((name, f"({v} is not None and ({expr}))"))
    if rule.proto is not None:
        out.append(("proto", f"{e.field('proto')} == {rule.proto}"))
    for name in ("src_port", "dst_port"):
        rng = getattr(rule, name)
        if rng is not None:
            v = e.field(name)
            out.append((name, f"({v} is not None and {rng[0]} <= {v} <= {rng[1]})"))
    for name in ("icmp_type", "icmp_code"):
        want = getattr(rule, name)
        if want is not None:
            out.append((name, f"{e.field(name)} == {want}"))
    if rule.fragment_policy is not None:
        ok = e.const(_FRAGMENT_OK[rule.fragment_policy])
        out.append(("fragment_policy", f"{e.field('fragment')} in {ok}"))
    return out


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
    ns = dict(e.ns)
    exec(compile(src, "<chain>", "exec"), ns)
    fn: FirstMatch = ns["first_match"]
    return fn
