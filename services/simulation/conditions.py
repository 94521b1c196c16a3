"""Rule conditions compiled into one predicate per rule, with the fields and tags it reads.

A predicate is `test(packet, in_port_id, out_port_id) -> bool`. Every present condition
must hold; a condition listed in the rule's `invert` has its sense negated. A condition on
a field the packet lacks (ip_src of an ARP frame) does not hold. A group that does not
exist is an empty group.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from services.simulation import packet as pk
from services.simulation.packet import Packet
from services.simulation.result import Tag
from services.topology.addr import Cidr
from services.topology.fields import Condition, FieldSpec
from services.topology.rule import Rule
from services.topology.snapshot import Topology

Test = Callable[[Packet, str, str | None], bool]
_ALL_MAC = 0xFFFFFFFFFFFF


@dataclass(frozen=True, slots=True)
class CompiledRule:
    """A rule ready to evaluate: its predicate, action, fields read and tags."""

    rule_id: str
    action: str
    jump_chain_id: str | None
    test: Test
    mask: int
    tags: tuple[Tag, ...]


def _cidr_test(attr: str, c: Cidr) -> Test:
    mask, net = c.mask, c.network

    def test(p: Packet, i: str, o: str | None) -> bool:
        v: int | None = getattr(p, attr)
        return v is not None and v & mask == net

    return test


def _group_test(attr: str, prefixes: tuple[Cidr, ...]) -> Test:
    hosts = frozenset(c.addr for c in prefixes if c.plen == 32)
    nets = tuple((c.mask, c.network) for c in prefixes if c.plen < 32)

    def test(p: Packet, i: str, o: str | None) -> bool:
        v: int | None = getattr(p, attr)
        if v is None:
            return False
        return v in hosts or any(v & m == n for m, n in nets)

    return test


def _eq_test(attr: str, want: object) -> Test:
    def test(p: Packet, i: str, o: str | None) -> bool:
        return bool(getattr(p, attr) == want)

    return test


def _range_test(attr: str, lo: int, hi: int) -> Test:
    def test(p: Packet, i: str, o: str | None) -> bool:
        v: int | None = getattr(p, attr)
        return v is not None and lo <= v <= hi

    return test


def _mac_test(attr: str, mac: int, mask: int | None) -> Test:
    m = _ALL_MAC if mask is None else mask
    want = mac & m

    def test(p: Packet, i: str, o: str | None) -> bool:
        return bool(getattr(p, attr) & m == want)

    return test


#: fragment_policy -> the packet `fragment` values it admits
FRAGMENT_OK = {
    "any": frozenset(pk.FRAGMENTS),
    "header": frozenset({"no", "first"}),
    "nonheader": frozenset({"later"}),
    "unfragmented": frozenset({"no"}),
}


def _ip_group(topo: Topology, gid: str) -> tuple[Cidr, ...]:
    group = topo.ip_address_groups.get(gid)
    return group.addresses if group is not None else ()


def _test(rule: Rule, spec: FieldSpec, cond: Condition, topo: Topology) -> tuple[Test, Tag | None]:
    """The predicate of one set condition (declared in services/topology/rule.py)."""
    value: object = getattr(rule, spec.name)
    attr = cond.reads or ""
    if cond.test in ("in_port", "out_port"):
        assert isinstance(value, tuple)
        ids = frozenset(str(v) for v in value)
        if cond.test == "in_port":
            return (lambda p, i, o: i in ids), None
        return (lambda p, i, o: o in ids), None
    if cond.test in ("in_group", "out_group"):
        assert isinstance(value, str)
        members = topo.port_group_members.get(value, frozenset())
        if cond.test == "in_group":
            return (lambda p, i, o: i in members), ("port_group", value)
        return (lambda p, i, o: o in members), ("port_group", value)
    if cond.test == "mac":
        assert isinstance(value, int)
        mask: object = getattr(rule, cond.mask_field) if cond.mask_field else None
        assert mask is None or isinstance(mask, int)
        return _mac_test(attr, value, mask), None
    if cond.test == "eq":
        return _eq_test(attr, value), None
    if cond.test == "cidr":
        assert isinstance(value, Cidr)
        return _cidr_test(attr, value), None
    if cond.test == "ip_group":
        assert isinstance(value, str)
        return _group_test(attr, _ip_group(topo, value)), ("ip_address_group", value)
    if cond.test == "range":
        assert isinstance(value, tuple) and len(value) == 2
        lo, hi = value
        assert isinstance(lo, int) and isinstance(hi, int)
        return _range_test(attr, lo, hi), None
    assert isinstance(value, str)
    ok = FRAGMENT_OK[value]
    return (lambda p, i, o: p.fragment in ok), None


#: the rule's condition fields, in declaration order
CONDITIONS: tuple[tuple[FieldSpec, Condition], ...] = tuple(
    (s, s.condition) for s in Rule.spec() if s.condition is not None
)


def _conditions(rule: Rule, topo: Topology) -> list[tuple[str, Test, int, Tag | None]]:
    """(condition name, test, fields read, tag) for every condition the rule sets."""
    out: list[tuple[str, Test, int, Tag | None]] = []
    for spec, cond in CONDITIONS:
        if getattr(rule, spec.name) is not None:
            test, tag = _test(rule, spec, cond, topo)
            bit = pk.BIT[cond.reads] if cond.reads is not None else 0
            out.append((spec.name, test, bit, tag))
    return out


def _negate(t: Test) -> Test:
    return lambda p, i, o: not t(p, i, o)


def _all(tests: list[Test]) -> Test:
    if not tests:
        return lambda p, i, o: True
    if len(tests) == 1:
        return tests[0]
    if len(tests) == 2:
        a, b = tests
        return lambda p, i, o: a(p, i, o) and b(p, i, o)
    if len(tests) == 3:
        a, b, c = tests
        return lambda p, i, o: a(p, i, o) and b(p, i, o) and c(p, i, o)
    frozen = tuple(tests)

    def every(p: Packet, i: str, o: str | None) -> bool:
        return all(t(p, i, o) for t in frozen)

    return every


def compile_rule(rule: Rule, topo: Topology) -> CompiledRule:
    """The rule's conjunction of (possibly inverted) conditions as one predicate.

    The mask covers every condition, even those a short-circuit would skip: reading more
    than needed only makes the flow match narrower, never wrong.
    """
    inverted = frozenset(rule.invert)
    tests: list[Test] = []
    mask = 0
    tags: list[Tag] = [("rule", rule.id)]
    for name, test, bit, tag in _conditions(rule, topo):
        tests.append(_negate(test) if name in inverted else test)
        mask |= bit
        if tag is not None:
            tags.append(tag)
    return CompiledRule(rule.id, rule.action, rule.jump_chain_id, _all(tests), mask, tuple(tags))
