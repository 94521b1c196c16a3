"""The agent's table sources: learned state written to the replicated tables, stale MAC
entries pruned (own entries and those of DEAD/LEFT hosts only)."""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any

from mesh.member import Member, MemberMeta, MemberState
from services.agent.extension import _TableSources
from services.simulation.learned import ARPS_TABLE, MACS_TABLE, new_state_table
from services.simulation.result import ArpLearned, MacLearned
from services.topology import tables as T
from services.topology.builder import TopologyBuilder
from services.topology.memtable import MemoryTable
from services.topology.model import KINDS


class Table(MemoryTable):
    """MemoryTable plus the ORMap(LWWRegister) conveniences of mesh.table.Table."""

    def put(self, key: Hashable, value: Any, *, now: float) -> None:
        rid = self.replica_id
        self.mutate(lambda s: s.update(rid, key, lambda v: v.assign(rid, value)), now=now)

    def delete(self, key: Hashable, *, now: float) -> None:
        rid = self.replica_id
        self.mutate(lambda s: s.remove(rid, key), now=now)


@dataclass
class Ctx:
    host_id: str
    tables: dict[str, Table]
    member_list: list[Member] = field(default_factory=list)
    writes: int = 0

    def table(self, name: str) -> Table:
        return self.tables[name]

    def members(self) -> list[Member]:
        return self.member_list

    def now(self) -> float:
        return 0.0

    def notify_written(self) -> None:
        self.writes += 1


def _member(host: str, state: MemberState, ip: str) -> Member:
    return Member(MemberMeta(host, (ip, 7946), ip, None), state, 1)


def test_commit_and_prune() -> None:
    tables = {T.table_name(k): Table(T.new_table, "h1") for k in KINDS}
    tables[MACS_TABLE] = Table(new_state_table, "h1")
    tables[ARPS_TABLE] = Table(new_state_table, "h1")
    ctx = Ctx("h1", tables)
    ctx.member_list = [
        _member("h1", MemberState.ALIVE, "192.0.2.1"),
        _member("h2", MemberState.SUSPECT, "192.0.2.2"),
        _member("h3", MemberState.DEAD, "192.0.2.3"),
    ]
    src = _TableSources(ctx)  # type: ignore[arg-type]
    assert src.underlay() == {"h1": 0xC0000201, "h2": 0xC0000202}
    b = TopologyBuilder("src")
    br = b.bridge("A")
    p1 = b.vm_port(br, "h1", "10.0.0.1")
    topo = b.build()
    src.topology = lambda: topo  # type: ignore[method-assign]

    src.commit([MacLearned(br, 0, 1, p1), ArpLearned("r", 9, 0xAB)])
    assert src.state().mac_port(br, 0, 1) == p1
    assert src.state().arp_mac("r", 9) == 0xAB
    macs = tables[MACS_TABLE]
    macs.put((br, 0, 2), {"port_id": "gone", "host_id": "h1"}, now=0.0)  # stale, ours
    macs.put((br, 0, 3), {"port_id": "gone", "host_id": "h2"}, now=0.0)  # stale, h2's (alive)
    macs.put((br, 0, 4), {"port_id": "gone", "host_id": "h3"}, now=0.0)  # stale, h3 is DEAD
    assert src.prune_macs() == 2
    assert set(macs.state.value()) == {(br, 0, 1), (br, 0, 3)}
    assert ctx.writes >= 2
