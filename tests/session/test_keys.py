"""Conntrack keys: forward key, the reversed lookup of return packets, what is untracked."""

from __future__ import annotations

from hypothesis import given

from services.session.keys import ConnKey, FlowTuple, forward_key, return_lookup_key
from services.simulation.packet import ETH_ARP, Packet
from tests.session.strategies import flows

DEV = "5b0d1f4e-0000-4000-8000-000000000001"
OTHER = "5b0d1f4e-0000-4000-8000-000000000002"


def tcp(src: int, sport: int, dst: int, dport: int, **kw: object) -> Packet:
    return Packet(1, 2, ip_src=src, ip_dst=dst, proto=6, src_port=sport, dst_port=dport, **kw)  # type: ignore[arg-type]


def test_forward_key_is_the_tuple_on_the_device() -> None:
    k = forward_key(tcp(10, 1234, 20, 80), DEV)
    assert k == ConnKey(DEV, FlowTuple(6, 10, 1234, 20, 80))


def test_reply_looks_up_the_forward_key() -> None:
    fwd = forward_key(tcp(10, 1234, 20, 80), DEV)
    reply = tcp(20, 80, 10, 1234)
    assert return_lookup_key(reply, DEV) == fwd
    # the same reply on another device, or another connection, does not match
    assert return_lookup_key(reply, OTHER) != fwd
    assert return_lookup_key(tcp(20, 80, 10, 1235), DEV) != fwd
    # the forward packet itself is not its own return
    assert return_lookup_key(tcp(10, 1234, 20, 80), DEV) != fwd


def test_icmp_echo_uses_the_id_for_both_ports() -> None:
    req = Packet(1, 2, ip_src=10, ip_dst=20, proto=1, icmp_type=8, icmp_code=0)
    rep = Packet(2, 1, ip_src=20, ip_dst=10, proto=1, icmp_type=0, icmp_code=0)
    k = forward_key(req, DEV, icmp_id=77)
    assert k == ConnKey(DEV, FlowTuple(1, 10, 77, 20, 77))
    assert return_lookup_key(rep, DEV, icmp_id=77) == k
    assert return_lookup_key(rep, DEV, icmp_id=78) != k
    assert forward_key(req, DEV) is None  # the id is unknown: no key


def test_untracked_packets_have_no_key() -> None:
    assert forward_key(Packet(1, 2, ethertype=ETH_ARP), DEV) is None
    unreachable = Packet(1, 2, ip_src=1, ip_dst=2, proto=1, icmp_type=3, icmp_code=1)
    assert forward_key(unreachable, DEV, icmp_id=5) is None
    assert forward_key(Packet(1, 2, ip_src=1, ip_dst=2, proto=47), DEV) is None  # GRE
    assert forward_key(tcp(10, 1, 20, 2, fragment="later"), DEV) is None
    assert forward_key(tcp(10, 1, 20, 2, fragment="first"), DEV) is not None


@given(flows())
def test_reversing_twice_is_identity(f: FlowTuple) -> None:
    assert f.reversed().reversed() == f
    assert ConnKey(DEV, f).reversed().reversed() == ConnKey(DEV, f)
