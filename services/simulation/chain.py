"""The rule loop: first terminal action decides; jump/return with loop detection.

Verdicts are "accept", "drop" or "reject". Reaching the end of a chain (or `return` from
the chain evaluated first) accepts. A jump into a chain already on the jump stack, a jump
deeper than MAX_JUMP_DEPTH, or a reference to a chain that does not exist drops (fail
closed: a dangling reference is a concurrent delete in flight).
"""

from __future__ import annotations

from dataclasses import dataclass

from services.simulation.chaincode import FirstMatch, compile_chain
from services.simulation.conditions import CompiledRule, compile_rule
from services.simulation.context import Context
from services.simulation.packet import Packet
from services.simulation.result import Hop, Tag
from services.topology.snapshot import Topology

MAX_JUMP_DEPTH = 16
_TERMINAL = frozenset({"accept", "drop", "reject"})


@dataclass(frozen=True, slots=True)
class CompiledChain:
    """A chain's rules in position order, with running unions of their masks and tags."""

    chain_id: str
    rules: tuple[CompiledRule, ...]
    first_match: FirstMatch  # generated: index of the first matching rule from `start`
    prefix_masks: tuple[int, ...]  # prefix_masks[k] = mask of rules 0..k
    prefix_tags: tuple[frozenset[Tag], ...]  # likewise for tags
    all_mask: int
    all_tags: frozenset[Tag]


def compiled_chain(topo: Topology, chain_id: str) -> CompiledChain | None:
    """The compiled chain (memoized on the snapshot), None if it does not exist."""
    key = ("chain", chain_id)
    cached = topo.memo.get(key)
    if cached is not None or key in topo.memo:
        return cached
    chain = None
    if chain_id in topo.chains:
        rules = tuple(compile_rule(r, topo) for r in topo.rules_by_chain.get(chain_id, ()))
        masks: list[int] = []
        tag_sets: list[frozenset[Tag]] = []
        mask = 0
        tags: set[Tag] = {("chain", chain_id)}
        for r in rules:
            mask |= r.mask
            tags.update(r.tags)
            masks.append(mask)
            tag_sets.append(frozenset(tags))
        first = compile_chain(topo.rules_by_chain.get(chain_id, ()), topo)
        chain = CompiledChain(
            chain_id, rules, first, tuple(masks), tuple(tag_sets), mask, frozenset(tags)
        )
    topo.memo[key] = chain
    return chain


def run_chain(
    ctx: Context, chain_id: str | None, pkt: Packet, in_port: str, out_port: str | None
) -> str:
    """Evaluate a chain (None = no chain = accept) and trace the verdict."""
    if chain_id is None:
        return "accept"
    verdict, rule_id, reason = _eval(ctx, chain_id, pkt, in_port, out_port, ())
    final = verdict or "accept"
    ctx.hops.append(_hop(chain_id, final, rule_id, reason))
    return final


def _hop(chain_id: str, action: str, rule_id: str | None, reason: str | None) -> Hop:
    return Hop(chain_id, "chain", action, rule_id, reason)


def _eval(
    ctx: Context,
    chain_id: str,
    pkt: Packet,
    in_port: str,
    out_port: str | None,
    stack: tuple[str, ...],
) -> tuple[str | None, str | None, str | None]:
    """(verdict or None to fall through, deciding rule, reason)."""
    chain = compiled_chain(ctx.topo, chain_id)
    if chain is None:
        ctx.tags.add(("chain", chain_id))
        return "drop", None, "missing chain"
    stack = (*stack, chain_id)
    rules = chain.rules
    k = chain.first_match(pkt, in_port, out_port, 0)
    while k >= 0:
        rule = rules[k]
        action = rule.action
        ctx.mask |= chain.prefix_masks[k]
        ctx.tag_sets.append(chain.prefix_tags[k])
        if action in _TERMINAL:
            return action, rule.rule_id, None
        if action == "return":
            return None, rule.rule_id, None
        target = rule.jump_chain_id or ""
        if target in stack:
            return "drop", rule.rule_id, "chain jump loop"
        if len(stack) >= MAX_JUMP_DEPTH:
            return "drop", rule.rule_id, "chain jump too deep"
        verdict, sub_rule, reason = _eval(ctx, target, pkt, in_port, out_port, stack)
        if verdict is not None:
            return verdict, sub_rule, reason
        k = chain.first_match(pkt, in_port, out_port, k + 1)
    ctx.mask |= chain.all_mask
    ctx.tag_sets.append(chain.all_tags)
    return None, None, None
