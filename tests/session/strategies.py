"""Hypothesis strategies for session values (tuples, keys, entries, state messages)."""

from __future__ import annotations

import uuid

from hypothesis import strategies as st

from services.session.entries import ConnEntry, NatEntry, SessionEntry, SessionPorts
from services.session.keys import ConnKey, FlowTuple
from services.session.nat import NatBinding, NatKind
from services.session.wire import MAX_CONN, MAX_EGRESS, MAX_NAT, StateMessage

uuids = st.uuids().map(str)
# a few recurring ids as well, as in a real topology (collisions between entries)
few_uuids = st.sampled_from([str(uuid.UUID(int=i + 1)) for i in range(4)])
ids = st.one_of(uuids, few_uuids)
protos = st.sampled_from([1, 6, 17])
ips = st.integers(0, 2**32 - 1)
ports = st.integers(0, 2**16 - 1)


@st.composite
def flows(draw: st.DrawFn, proto: int | None = None) -> FlowTuple:
    p = draw(protos) if proto is None else proto
    return FlowTuple(p, draw(ips), draw(ports), draw(ips), draw(ports))


conn_keys = st.builds(ConnKey, ids, flows())
session_ports = st.builds(SessionPorts, ids, st.lists(ids, max_size=MAX_EGRESS).map(tuple))


@st.composite
def bindings(draw: st.DrawFn) -> NatBinding:
    p = draw(protos)
    return NatBinding(draw(flows(p)), draw(flows(p)))


nat_kinds = st.sampled_from(list(NatKind))
nat_triples = st.tuples(ids, nat_kinds, bindings())
conn_entries = st.builds(ConnEntry, conn_keys, session_ports)
nat_entries = st.builds(NatEntry, ids, nat_kinds, bindings(), session_ports)
entries: st.SearchStrategy[SessionEntry] = st.one_of(conn_entries, nat_entries)
messages = st.builds(
    StateMessage,
    session_ports,
    st.lists(conn_keys, max_size=MAX_CONN).map(tuple),
    st.lists(nat_triples, max_size=MAX_NAT).map(tuple),
)
