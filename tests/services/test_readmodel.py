"""One read model per node: the network and agent extensions share the store and the
learned-state view (one snapshot per change), and the learned tables' shapes are parsed
in one place that never crashes on a peer's malformed entry."""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from services.simulation.learned import (
    ARPS_TABLE,
    MACS_TABLE,
    MacEntry,
    arp_key,
    mac_key,
    mac_value,
    new_state_table,
    parse_arp_entry,
    parse_mac_entry,
)
from services.simulation.readmodel import shared_model
from services.topology import tables as T
from services.topology.memtable import MemoryTable
from services.topology.model import KINDS


def _tables() -> dict[str, MemoryTable]:
    out = {T.table_name(k): MemoryTable(T.new_table, "h1") for k in KINDS}
    out[MACS_TABLE] = MemoryTable(new_state_table, "h1")
    out[ARPS_TABLE] = MemoryTable(new_state_table, "h1")
    return out


@dataclass
class Ctx:
    """What an ExtensionContext offers the read model (one per extension in meshd)."""

    tables: dict[str, MemoryTable]
    writes: list[int] = field(default_factory=list)

    def table(self, name: str) -> MemoryTable:
        return self.tables[name]

    def now(self) -> float:
        return 0.0

    def notify_written(self) -> None:
        self.writes.append(1)


def test_two_extensions_over_one_node_share_one_model() -> None:
    tables = _tables()
    network, agent = Ctx(tables), Ctx(tables)
    a, b = shared_model(network), shared_model(agent)
    assert a is b
    assert a.store is b.store and a.state is b.state
    assert shared_model(Ctx(_tables())) is not a


def test_one_snapshot_per_change_for_both_readers() -> None:
    tables = _tables()
    model = shared_model(Ctx(tables))
    before = model.store.topology()
    created = model.store.create("bridges", {"tenant_id": "A"})
    after = model.store.topology()
    assert after is not before and created["id"] in after.bridges
    assert shared_model(Ctx(tables)).store.topology() is after  # the agent reads the same one


def test_learned_entries_round_trip_through_the_view() -> None:
    tables = _tables()
    model = shared_model(Ctx(tables))
    model.macs.put(mac_key("br", 0, 5), mac_value("p1", "h1"), now=0.0)
    model.arps.put(arp_key("r1", 9), 0xAB, now=0.0)
    view = model.state.view()
    assert view.mac_port("br", 0, 5) == "p1"
    assert view.arp_mac("r1", 9) == 0xAB


_ANY = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=4),
    lambda inner: (
        st.lists(inner, max_size=4).map(tuple)
        | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


@given(_ANY, _ANY)
def test_malformed_entries_are_skipped_not_fatal(key: Any, value: Any) -> None:
    k: Hashable = key if isinstance(key, Hashable) else repr(key)
    mac = parse_mac_entry(k, value)
    if mac is not None:
        assert isinstance(mac, MacEntry) and mac.key == k
    arp = parse_arp_entry(k, value)
    if arp is not None:
        assert (arp.router_id, arp.ip) == k and arp.mac == value


def test_a_well_formed_mac_entry_parses() -> None:
    entry = parse_mac_entry(mac_key("br", 10, 7), mac_value("p", "h"))
    assert entry == MacEntry("br", 10, 7, "p", "h")
    assert parse_mac_entry(("br", 10), mac_value("p", "h")) is None
    assert parse_mac_entry(mac_key("br", 10, 7), {"host_id": "h"}) is None
