"""Properties on random multi-tenant topologies: isolation, determinism, wildcard soundness."""

from __future__ import annotations

import random

from hypothesis import given
from hypothesis import strategies as st

from services.simulation import Decision, SimulationResult, simulate
from services.topology.snapshot import Topology
from tests.services.randtopo import random_packet, random_world, vary_unmasked

SEEDS = st.integers(0, 2**32 - 1)


def _tenant_of_device(topo: Topology, device: str) -> str | None:
    obj = topo.bridges.get(device) or topo.routers.get(device)
    return obj.tenant_id if obj is not None else None


def _routed(r: SimulationResult) -> bool:
    return any(h.kind == "router" and h.action == "route" for h in r.hops)


@given(SEEDS)
def test_no_packet_reaches_another_tenant_without_a_route(seed: int) -> None:
    w = random_world(seed)
    topo, state = w.topo(), w.state()
    rng = random.Random(seed)
    for _ in range(30):
        ingress, pkt = random_packet(rng, w)
        r = simulate(topo, state, ingress, pkt)
        tenant = topo.ports[ingress].tenant_id
        for e in r.egress:
            if topo.ports[e.port_id].tenant_id != tenant:
                assert _routed(r), r.hops


@given(SEEDS)
def test_without_cross_tenant_routes_tenants_are_sealed(seed: int) -> None:
    """No provider routes, no foreign router links: every egress stays in the tenant,
    whatever the bridges' learned tables (even entries naming other tenants' ports) say."""
    w = random_world(seed, cross_tenant_routes=False)
    topo, state = w.topo(), w.state()
    rng = random.Random(seed)
    for _ in range(30):
        ingress, pkt = random_packet(rng, w)
        r = simulate(topo, state, ingress, pkt)
        tenant = topo.ports[ingress].tenant_id
        assert {topo.ports[e.port_id].tenant_id for e in r.egress} <= {tenant}, r.hops
        for g in r.generated:
            assert topo.ports[g.port_id].tenant_id == tenant


@given(SEEDS)
def test_simulation_is_deterministic(seed: int) -> None:
    w = random_world(seed)
    topo, state = w.topo(), w.state()
    # the same tables inserted in another order give the same snapshot behaviour
    shuffled = {k: dict(reversed(list(v.items()))) for k, v in reversed(list(w.b.tables.items()))}
    other = Topology.from_tables(shuffled)
    rng = random.Random(seed)
    for _ in range(20):
        ingress, pkt = random_packet(rng, w)
        r = simulate(topo, state, ingress, pkt)
        assert r == simulate(topo, state, ingress, pkt)
        assert r == simulate(other, state, ingress, pkt)


@given(SEEDS)
def test_result_holds_for_every_packet_of_its_match(seed: int) -> None:
    """Wildcards are sound: varying fields outside the mask changes nothing."""
    w = random_world(seed)
    topo, state = w.topo(), w.state()
    rng = random.Random(seed ^ 0x5EED)
    for _ in range(20):
        ingress, pkt = random_packet(rng, w)
        r = simulate(topo, state, ingress, pkt)
        other = vary_unmasked(rng, pkt, r.match.mask)
        r2 = simulate(topo, state, ingress, other)
        assert r2.match == r.match, (pkt, other)
        assert r2.decision == r.decision
        assert r2.egress_ports == r.egress_ports
        assert [r2.rewrites(e) for e in r2.egress] == [r.rewrites(e) for e in r.egress]
        assert r2.learned == r.learned
        assert r2.generated == r.generated
        assert r2.tags == r.tags
        if r.decision is Decision.FORWARD:
            assert r.egress
