"""Decoders of znode content and name checks: bad input -> a clear error, never a crash."""

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mesh.zk.codec import (
    LeaseRecord,
    decode_lease,
    decode_meta,
    encode_lease,
    encode_meta,
    lease_expired,
)
from mesh.zk.errors import ZkDataError
from mesh.zk.paths import check_name, check_root

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text() | st.floats(allow_nan=False),
    lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=8), c, max_size=4),
    max_leaves=20,
)


@given(st.dictionaries(st.text(max_size=10), json_values, max_size=6))
def test_meta_roundtrip(meta: dict) -> None:
    try:
        data = encode_meta(meta)
    except ValueError:
        return  # infinities are not JSON
    assert decode_meta(data) == meta


@given(st.binary(max_size=200))
def test_decode_meta_fuzz(data: bytes) -> None:
    with contextlib.suppress(ZkDataError):
        assert isinstance(decode_meta(data), dict)


@given(st.one_of(st.binary(max_size=200), json_values.map(lambda v: repr(v).encode())))
def test_decode_lease_fuzz(data: bytes) -> None:
    try:
        rec = decode_lease(data)
    except ZkDataError:
        return
    assert rec.ttl > 0


@given(st.text(min_size=1, max_size=20), st.floats(0.001, 1e6), st.floats(0, 2e9))
def test_lease_roundtrip(holder: str, ttl: float, exp: float) -> None:
    rec = LeaseRecord(holder, ttl, exp)
    assert decode_lease(encode_lease(rec)) == rec


def test_decode_errors_are_clear() -> None:
    with pytest.raises(ZkDataError, match="expected an object"):
        decode_meta(b"[1,2]")
    with pytest.raises(ZkDataError, match="holder"):
        decode_lease(b'{"ttl": 1, "expires_at": 2}')
    with pytest.raises(ZkDataError, match="ttl must be positive"):
        decode_lease(b'{"holder": "a", "ttl": 0, "expires_at": 2}')
    with pytest.raises(ValueError, match="JSON"):
        encode_meta({"x": object()})


def test_lease_expiry_on_server_clock() -> None:
    assert not lease_expired(1000, 1.5, 2499)
    assert lease_expired(1000, 1.5, 2500)


@given(st.text(max_size=30))
def test_check_name_fuzz(name: str) -> None:
    try:
        assert check_name(name) == name
    except ValueError:
        return
    assert "/" not in name and not name.startswith(".") and name.isascii()


def test_paths() -> None:
    assert check_root("/vnetmesh/") == "/vnetmesh"
    for bad in ("", "/", "vnetmesh", "/a//b", "/a/../b", "/a b"):
        with pytest.raises(ValueError):
            check_root(bad)
    for bad in ("", ".clock", "a/b", "..", "a b", "x" * 201):
        with pytest.raises(ValueError):
            check_name(bad)
