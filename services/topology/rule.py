"""Chains and their rules: ordered conditions with an action (see simulation/chain.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from services.topology.addr import Cidr
from services.topology.base import TopologyObject
from services.topology.errors import ValidationError
from services.topology.fields import (
    COMMON,
    d_opt,
    d_proto,
    d_str,
    dump_mac,
    f,
    opt_uuid_f,
    p_cidr,
    p_enum,
    p_int,
    p_mac,
    p_opt,
    p_proto,
    p_range,
    p_uuids,
    uuid_f,
)

ACTIONS = ("accept", "drop", "reject", "continue", "return", "jump")
FRAGMENT_POLICIES = ("any", "header", "nonheader", "unfragmented")

CONDITION_NAMES = (
    "in_port_ids",
    "out_port_ids",
    "in_port_group_id",
    "out_port_group_id",
    "eth_src",
    "eth_dst",
    "ethertype",
    "ip_src",
    "ip_dst",
    "ip_src_group_id",
    "ip_dst_group_id",
    "proto",
    "src_port",
    "dst_port",
    "icmp_type",
    "icmp_code",
    "fragment_policy",
)


def _p_invert(value: Any, field: str) -> tuple[str, ...]:
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise ValidationError(field, "expected a list of condition names")
    for name in value:
        if name not in CONDITION_NAMES:
            raise ValidationError(field, f"{name!r} is not a condition name")
    return tuple(sorted(set(value)))


def _d_range(value: tuple[int, int]) -> list[int]:
    return [value[0], value[1]]


@dataclass(frozen=True, slots=True)
class Chain(TopologyObject):
    """A named, ordered list of rules (the rules point at their chain)."""

    SPEC = COMMON
    KIND = "chains"
    id: str
    tenant_id: str
    name: str = ""


_OPT_MAC = (p_opt(p_mac), d_opt(dump_mac))
_OPT_CIDR = (p_opt(p_cidr), d_opt(d_str))


@dataclass(frozen=True, slots=True)
class Rule(TopologyObject):
    """One rule: every present condition must hold (each may be inverted) for the action."""

    SPEC = (
        *COMMON,
        uuid_f("chain_id"),
        f("position", p_int(0, 1 << 31)),
        f("action", p_enum(*ACTIONS)),
        opt_uuid_f("jump_chain_id"),
        f("in_port_ids", p_opt(p_uuids), d_opt(list), default=None),
        f("out_port_ids", p_opt(p_uuids), d_opt(list), default=None),
        opt_uuid_f("in_port_group_id"),
        opt_uuid_f("out_port_group_id"),
        f("eth_src", *_OPT_MAC, default=None),
        f("eth_src_mask", *_OPT_MAC, default=None),
        f("eth_dst", *_OPT_MAC, default=None),
        f("eth_dst_mask", *_OPT_MAC, default=None),
        f("ethertype", p_opt(p_int(0, 0xFFFF)), default=None),
        f("ip_src", *_OPT_CIDR, default=None),
        f("ip_dst", *_OPT_CIDR, default=None),
        opt_uuid_f("ip_src_group_id"),
        opt_uuid_f("ip_dst_group_id"),
        f("proto", p_opt(p_proto), d_opt(d_proto), default=None),
        f("src_port", p_opt(p_range), d_opt(_d_range), default=None),
        f("dst_port", p_opt(p_range), d_opt(_d_range), default=None),
        f("icmp_type", p_opt(p_int(0, 255)), default=None),
        f("icmp_code", p_opt(p_int(0, 255)), default=None),
        f("fragment_policy", p_opt(p_enum(*FRAGMENT_POLICIES)), default=None),
        f("invert", _p_invert, list, default=()),
    )
    KIND = "rules"
    id: str
    tenant_id: str
    chain_id: str
    position: int
    action: str
    name: str = ""
    jump_chain_id: str | None = None
    in_port_ids: tuple[str, ...] | None = None
    out_port_ids: tuple[str, ...] | None = None
    in_port_group_id: str | None = None
    out_port_group_id: str | None = None
    eth_src: int | None = None
    eth_src_mask: int | None = None
    eth_dst: int | None = None
    eth_dst_mask: int | None = None
    ethertype: int | None = None
    ip_src: Cidr | None = None
    ip_dst: Cidr | None = None
    ip_src_group_id: str | None = None
    ip_dst_group_id: str | None = None
    proto: int | None = None
    src_port: tuple[int, int] | None = None
    dst_port: tuple[int, int] | None = None
    icmp_type: int | None = None
    icmp_code: int | None = None
    fragment_policy: str | None = None
    invert: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.action == "jump" and self.jump_chain_id is None:
            raise ValidationError("jump_chain_id", "required for a jump rule")
        if self.action != "jump" and self.jump_chain_id is not None:
            raise ValidationError("jump_chain_id", "only a jump rule has a jump target")
        for name in self.invert:
            if getattr(self, name) is None:
                raise ValidationError("invert", f"inverts {name!r}, which is not set")
        if self.eth_src_mask is not None and self.eth_src is None:
            raise ValidationError("eth_src_mask", "needs eth_src")
        if self.eth_dst_mask is not None and self.eth_dst is None:
            raise ValidationError("eth_dst_mask", "needs eth_dst")
