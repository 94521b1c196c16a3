"""Shared helpers of the mesh core tests: clusters on the simulated network."""

from __future__ import annotations

from collections.abc import Callable

import crdt
from mesh.config import MeshConfig
from mesh.events import MemberChanged
from mesh.member import MemberState
from mesh.node import MeshNode
from mesh.sim import LinkModel, SimNetwork, make_cluster


def kv_table(node: MeshNode) -> None:
    """Declare the test tables: a LWW map and an add-wins set."""
    node.table("kv", lambda: crdt.ORMap(crdt.LWWRegister))
    node.table("set", crdt.AWSet)


def cluster(
    n: int,
    seed: int,
    *,
    config: MeshConfig | None = None,
    link: LinkModel | None = None,
    bootstrap: str = "prime",
    keyring_factory: Callable[[int], object] | None = None,
) -> SimNetwork:
    """n members with the test tables."""
    return make_cluster(
        n,
        seed=seed,
        config=config,
        link=link,
        tables=kv_table,
        bootstrap=bootstrap,
        keyring_factory=keyring_factory,  # type: ignore[arg-type]
    )


def node(net: SimNetwork, i: int) -> MeshNode:
    """Member i (insertion order)."""
    return list(net.nodes.values())[i]


def state_of(n: MeshNode, host_id: str) -> MemberState | None:
    """How n sees host_id (None if unknown)."""
    for m in n.members():
        if m.meta.host_id == host_id:
            return m.state
    return None


def all_see(net: SimNetwork, host_id: str, state: MemberState) -> Callable[[], bool]:
    """Predicate: every live member other than host_id sees it in `state`."""
    return lambda: all(
        state_of(n, host_id) is state for n in net.live() if n.meta.host_id != host_id
    )


def fully_alive(net: SimNetwork) -> Callable[[], bool]:
    """Predicate: every live member sees every live member alive."""
    ids = {n.meta.host_id for n in net.live()}

    def check() -> bool:
        for n in net.live():
            alive = {m.meta.host_id for m in n.members() if m.state is MemberState.ALIVE}
            if not ids <= alive:
                return False
        return True

    return check


def member_events(n: MeshNode) -> list[MemberChanged]:
    """Drain n's events and keep the membership ones."""
    return [e for e in n.drain_events() if isinstance(e, MemberChanged)]


def write(net: SimNetwork, n: MeshNode, fn: Callable[[], object]) -> None:
    """Run a local write (its table call passes now=net.now) and let the network carry it."""
    fn()
    net.inject(n.meta.gossip, [])


def converged(net: SimNetwork, table: str = "kv") -> Callable[[], bool]:
    """Predicate: every live member holds the same state of `table`."""

    def check() -> bool:
        live = net.live()
        first = live[0].tables[table].state
        return all(n.tables[table].state == first for n in live[1:])

    return check
