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
        v = getattr(p, attr)
        return v is not None and v & mask == net

    return test


def _group_test(attr: str, prefixes: tuple[Cidr, ...]) -> Test:
    hosts = frozenset(c.addr for c in prefixes if c.plen == 32)
    nets = tuple((c.mask, c.network) for c in prefixes if c.plen < 32)

    def test(p: Packet, i: str, o: str | None) -> bool:
        v = getattr(p, attr)
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
        v = getattr(p, attr)
        return v is not None and lo <= v <= hi

    return test


def _mac_test(attr: str, mac: int, mask: int | None) -> Test:
    m = _ALL_MAC if mask is None else mask
    want = mac & m

    def test(p: Packet, i: str, o: str | None) -> bool:
        return bool(getattr(p, attr) & m == want)

    return test


_FRAGMENT_OK = {
    "any": frozenset(pk.FRAGMENTS),
    "header": frozenset({"no", "first"}),
    "nonheader": frozenset({"later"}),
    "unfragmented": frozenset({"no"}),
}


def _conditions(rule: Rule, topo: Topology) -> list[tuple[str, Test, int, Tag | None]]:
    """(condition name, test, fields read, tag) for every condition the rule sets."""
    out: list[tuple[str, Test, int, Tag | None]] = []
    if rule.in_port_ids is not None:
        ins = frozenset(rule.in_port_ids)
        out.append(("in_port_ids", lambda p, i, o: i in ins, 0, None))
    if rule.out_port_ids is not None:
        outs = frozenset(rule.out_port_ids)
        out.append(("out_port_ids", lambda p, i, o: o in outs, 0, None))
    if rule.in_port_group_id is not None:
        gid = rule.in_port_group_id
        gin = topo.port_group_members.get(gid, frozenset())
        out.append(("in_port_group_id", lambda p, i, o: i in gin, 0, ("port_group", gid)))
    if rule.out_port_group_id is not None:
        gid = rule.out_port_group_id
        gout = topo.port_group_members.get(gid, frozenset())
        out.append(("out_port_group_id", lambda p, i, o: o in gout, 0, ("port_group", gid)))
    if rule.eth_src is not None:
        out.append(
            ("eth_src", _mac_test("eth_src", rule.eth_src, rule.eth_src_mask), pk.ETH_SRC, None)
        )
    if rule.eth_dst is not None:
        out.append(
            ("eth_dst", _mac_test("eth_dst", rule.eth_dst, rule.eth_dst_mask), pk.ETH_DST, None)
        )
    if rule.ethertype is not None:
        out.append(("ethertype", _eq_test("ethertype", rule.ethertype), pk.ETHERTYPE, None))
    if rule.ip_src is not None:
        out.append(("ip_src", _cidr_test("ip_src", rule.ip_src), pk.IP_SRC, None))
    if rule.ip_dst is not None:
        out.append(("ip_dst", _cidr_test("ip_dst", rule.ip_dst), pk.IP_DST, None))
    for name, attr, bit in (
        ("ip_src_group_id", "ip_src", pk.IP_SRC),
        ("ip_dst_group_id", "ip_dst", pk.IP_DST),
    ):
        gid = getattr(rule, name)
        if gid is not None:
            group = topo.ip_address_groups.get(gid)
            prefixes = group.addresses if group is not None else ()
            out.append((name, _group_test(attr, prefixes), bit, ("ip_address_group", gid)))
    if rule.proto is not None:
        out.append(("proto", _eq_test("proto", rule.proto), pk.PROTO, None))
    if rule.src_port is not None:
        out.append(("src_port", _range_test("src_port", *rule.src_port), pk.SRC_PORT, None))
    if rule.dst_port is not None:
        out.append(("dst_port", _range_test("dst_port", *rule.dst_port), pk.DST_PORT, None))
    if rule.icmp_type is not None:
        out.append(("icmp_type", _eq_test("icmp_type", rule.icmp_type), pk.ICMP_TYPE, None))
    if rule.icmp_code is not None:
        out.append(("icmp_code", _eq_test("icmp_code", rule.icmp_code), pk.ICMP_CODE, None))
    if rule.fragment_policy is not None:
        ok = _FRAGMENT_OK[rule.fragment_policy]
        out.append(("fragment_policy", lambda p, i, o: p.fragment in ok, pk.FRAGMENT, None))
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
