"""Chains and their rules: ordered conditions with an action (see simulation/chain.py).

Each condition is declared once below, in `RuleConditions`, with what it tests
(`fields.Condition`); CONDITION_NAMES, the `invert` codec, the OpenAPI schema and both
rule compilers (simulation/conditions.py, simulation/chaincode.py) follow from it.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.topology.addr import Cidr
from services.topology.base import TopologyObject
from services.topology.errors import ValidationError
from services.topology.fields import (
    CIDR,
    MAC,
    PORT_RANGE,
    PROTO,
    UUID,
    UUIDS,
    Codec,
    Condition,
    Is,
    IsSet,
    Lists,
    Requires,
    check_rules,
    enum,
    field,
    int_range,
    opt,
    specs_of,
)

ACTIONS = ("accept", "drop", "reject", "continue", "return", "jump")
FRAGMENT_POLICIES = ("any", "header", "nonheader", "unfragmented")


@dataclass(frozen=True, slots=True, kw_only=True)
class Chain(TopologyObject):
    """A named, ordered list of rules (the rules point at their chain)."""

    KIND = "chains"


@dataclass(frozen=True, slots=True, kw_only=True)
class _RuleHead(TopologyObject):
    """A rule's place and action."""

    chain_id: str = field(UUID, refs=("chains",))
    position: int = field(int_range(0, 1 << 31))
    action: str = field(enum(*ACTIONS))
    jump_chain_id: str | None = field(opt(UUID), default=None, refs=("chains",))


@dataclass(frozen=True, slots=True, kw_only=True)
class RuleConditions(_RuleHead):
    """The match conditions of a rule: a field with a `condition` is one (None: not set)."""

    in_port_ids: tuple[str, ...] | None = field(
        opt(UUIDS), default=None, refs=("ports",), condition=Condition("in_port")
    )
    out_port_ids: tuple[str, ...] | None = field(
        opt(UUIDS), default=None, refs=("ports",), condition=Condition("out_port")
    )
    in_port_group_id: str | None = field(
        opt(UUID), default=None, refs=("port_groups",), condition=Condition("in_group")
    )
    out_port_group_id: str | None = field(
        opt(UUID), default=None, refs=("port_groups",), condition=Condition("out_group")
    )
    eth_src: int | None = field(
        opt(MAC), default=None, condition=Condition("mac", "eth_src", "eth_src_mask")
    )
    eth_src_mask: int | None = field(opt(MAC), default=None)
    eth_dst: int | None = field(
        opt(MAC), default=None, condition=Condition("mac", "eth_dst", "eth_dst_mask")
    )
    eth_dst_mask: int | None = field(opt(MAC), default=None)
    ethertype: int | None = field(
        opt(int_range(0, 0xFFFF)), default=None, condition=Condition("eq", "ethertype")
    )
    ip_src: Cidr | None = field(opt(CIDR), default=None, condition=Condition("cidr", "ip_src"))
    ip_dst: Cidr | None = field(opt(CIDR), default=None, condition=Condition("cidr", "ip_dst"))
    ip_src_group_id: str | None = field(
        opt(UUID),
        default=None,
        refs=("ip_address_groups",),
        condition=Condition("ip_group", "ip_src"),
    )
    ip_dst_group_id: str | None = field(
        opt(UUID),
        default=None,
        refs=("ip_address_groups",),
        condition=Condition("ip_group", "ip_dst"),
    )
    proto: int | None = field(opt(PROTO), default=None, condition=Condition("eq", "proto"))
    src_port: tuple[int, int] | None = field(
        opt(PORT_RANGE), default=None, condition=Condition("range", "src_port")
    )
    dst_port: tuple[int, int] | None = field(
        opt(PORT_RANGE), default=None, condition=Condition("range", "dst_port")
    )
    icmp_type: int | None = field(
        opt(int_range(0, 255)), default=None, condition=Condition("eq", "icmp_type")
    )
    icmp_code: int | None = field(
        opt(int_range(0, 255)), default=None, condition=Condition("eq", "icmp_code")
    )
    fragment_policy: str | None = field(
        opt(enum(*FRAGMENT_POLICIES)), default=None, condition=Condition("fragment", "fragment")
    )


#: the condition fields, in declaration order (what `invert` may name)
CONDITION_NAMES: tuple[str, ...] = tuple(
    s.name for s in specs_of(RuleConditions) if s.condition is not None
)


def _p_invert(value: object, field: str) -> tuple[str, ...]:
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise ValidationError(field, "expected a list of condition names")
    for name in value:
        if name not in CONDITION_NAMES:
            raise ValidationError(field, f"{name!r} is not a condition name")
    return tuple(sorted(set(value)))


def _d_invert(value: tuple[str, ...]) -> list[str]:
    return list(value)


INVERT: Codec[tuple[str, ...]] = Codec(
    _p_invert,
    _d_invert,
    {"type": "array", "items": {"type": "string", "enum": list(CONDITION_NAMES)}},
)


#: a rule's cross-field rules, in the order they are checked: only a jump rule has a jump
#: target, `invert` names only set conditions, a mask needs its address. The `invert` ones
#: stay out of the schema: one anyOf per condition, all conjoined, is more than schemathesis'
#: generator can merge (UnsupportedSchema from 8 of them on), so the document describes them
RULE_CONSTRAINTS: tuple[Requires, ...] = (
    Requires(Is("action", ("jump",)), "jump_chain_id", True, "required for a jump rule"),
    Requires(
        Is("action", tuple(a for a in ACTIONS if a != "jump")),
        "jump_chain_id",
        False,
        "only a jump rule has a jump target",
    ),
    *(
        Requires(
            Lists("invert", name),
            name,
            True,
            f"inverts {name!r}, which is not set",
            "invert",
            in_schema=False,
        )
        for name in CONDITION_NAMES
    ),
    *(
        Requires(
            IsSet(s.condition.mask_field), s.name, True, f"needs {s.name}", s.condition.mask_field
        )
        for s in specs_of(RuleConditions)
        if s.condition is not None and s.condition.mask_field is not None
    ),
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Rule(RuleConditions):
    """One rule: every present condition must hold (each may be inverted) for the action."""

    KIND = "rules"
    CONSTRAINTS = RULE_CONSTRAINTS
    invert: tuple[str, ...] = field(INVERT, default=())

    def __post_init__(self) -> None:
        check_rules(self, self.CONSTRAINTS)
