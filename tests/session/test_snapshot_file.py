"""The local store's file format: round trip and rejection of damaged files."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.session.snapshot_file import SnapshotFileError, decode_snapshot, encode_snapshot
from services.session.table import SnapshotItem
from tests.session.strategies import entries

items = st.lists(st.builds(SnapshotItem, entries, st.integers(0, 600).map(float)), max_size=20)


@given(items, st.floats(0, 2e9))
def test_round_trip(its: list[SnapshotItem], written_at: float) -> None:
    snap = decode_snapshot(encode_snapshot(its, written_at))
    assert snap.written_at == written_at
    assert list(snap.items) == its
    assert snap.bad_records == 0


@given(items, st.data())
def test_damage_is_detected(its: list[SnapshotItem], data: st.DataObject) -> None:
    raw = bytearray(encode_snapshot(its, 1.0))
    if data.draw(st.booleans()):
        cut = data.draw(st.integers(0, len(raw) - 1))
        damaged = bytes(raw[:cut])
    else:
        i = data.draw(st.integers(0, len(raw) - 1))
        raw[i] ^= data.draw(st.integers(1, 255))
        damaged = bytes(raw)
    with pytest.raises(SnapshotFileError):
        decode_snapshot(damaged)


@given(st.binary(max_size=400))
def test_random_bytes_only_raise_the_one_error(data: bytes) -> None:
    with contextlib.suppress(SnapshotFileError):
        decode_snapshot(data)
