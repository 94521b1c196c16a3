"""Decoders fuzzed: bad input gives ValidationError / ApiError naming a field, never a crash."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.api.errors import ApiError
from services.api.trace import trace
from services.simulation import DictStateView
from services.simulation.packet import FIELD_NAMES, Packet
from services.simulation.state import stale_mac_entries
from services.topology import KINDS, ValidationError
from services.topology.builder import TopologyBuilder
from services.topology.snapshot import Topology

JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=True)
    | st.text(max_size=20)
    | st.sampled_from(
        [
            "10.0.0.1",
            "10.0.0.0/8",
            "02:00:00:00:00:01",
            "tcp",
            "00000000-0000-0000-0000-000000000001",
        ]
    ),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=8,
)


def _fields(names: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    return st.dictionaries(st.sampled_from([*names, "bogus"]), JSON, max_size=len(names))


@pytest.mark.parametrize("kind", sorted(KINDS))
@given(data=st.data())
def test_model_decoders(kind: str, data: st.DataObject) -> None:
    fields = data.draw(_fields(list(KINDS[kind].field_names())))
    try:
        obj = KINDS[kind].from_dict(fields)
    except ValidationError as e:
        assert e.field is not None
    else:
        assert KINDS[kind].from_dict(obj.to_dict()) == obj


@given(
    st.dictionaries(
        st.sampled_from([*sorted(KINDS), "junk"]),
        st.dictionaries(st.text(max_size=5), JSON, max_size=3),
        max_size=4,
    )
)
def test_snapshot_never_fails(tables: dict[str, Any]) -> None:
    topo = Topology.from_tables(tables)
    assert all(e.kind for e in topo.errors)


@given(_fields(list(FIELD_NAMES)))
def test_packet_decoder(fields: dict[str, Any]) -> None:
    try:
        pkt = Packet.from_dict(fields)
    except ValidationError as e:
        assert e.field.startswith("packet.")
    else:
        assert Packet.from_dict(pkt.to_dict()) == pkt


@given(st.one_of(JSON, st.fixed_dictionaries({"ingress_port": JSON, "packet": JSON})))
def test_trace_body(body: Any) -> None:
    b = TopologyBuilder("fuzz")
    br = b.bridge("t")
    b.vm_port(br, "h1", "10.0.0.1", id="00000000-0000-0000-0000-000000000001")
    try:
        out = trace(b.build(), DictStateView(), body)
    except ApiError as e:
        assert e.status in (400, 404) and e.field is not None
    else:
        assert out["decision"] in {"forward", "drop", "reject", "consumed", "needs_arp"}


def test_stale_mac_entries() -> None:
    b = TopologyBuilder("stale")
    br, other = b.bridge("t"), b.bridge("t")
    p1 = b.vm_port(br, "h1")
    p2 = b.vm_port(br, "h2")
    unbound = b.port(br)
    elsewhere = b.vm_port(other, "h1")
    t = b.build()
    entries = {
        (br, 0, 1): (p1, "h1"),  # fine
        (br, 0, 2): (p2, "h1"),  # learned by h1 but the port is bound on h2
        (br, 0, 3): (b.new_id(), "h1"),  # port gone
        (br, 0, 4): (elsewhere, "h1"),  # port on another bridge
        (br, 0, 5): (p2, "h2"),  # fine until h2 leaves
        (br, 0, 6): (unbound, "h1"),  # port not bound
    }
    assert sorted(stale_mac_entries(entries, t, frozenset({"h1", "h2"}))) == [
        (br, 0, 2),
        (br, 0, 3),
        (br, 0, 4),
        (br, 0, 6),
    ]
    assert (br, 0, 5) in stale_mac_entries(entries, t, frozenset({"h1"}))
