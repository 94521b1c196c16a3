"""The write-ahead log on its own: record codec (property-tested: torn or corrupt tails
are cut, never raised), group commit, segments cut back after a snapshot."""

from __future__ import annotations

import asyncio
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from mesh.wal import (
    DeltaRecord,
    IncarnationRecord,
    Record,
    WriteAheadLog,
    decode_records,
    encode_record,
    list_segments,
    read_segments,
)

records = st.lists(
    st.one_of(
        st.builds(DeltaRecord, st.text(max_size=20), st.binary(max_size=200)),
        st.builds(IncarnationRecord, st.integers(min_value=0, max_value=2**62)),
    ),
    max_size=20,
)


@given(records, st.binary(max_size=64))
def test_whole_records_come_back_and_a_torn_tail_is_cut(recs: list[Record], tail: bytes) -> None:
    blob = b"".join(encode_record(r) for r in recs)
    found, end = decode_records(blob + tail)
    assert found[: len(recs)] == recs
    assert end >= len(blob)
    cut = blob[: max(0, len(blob) - 1)]
    found_cut, end_cut = decode_records(cut)
    assert found_cut == recs[: len(found_cut)] and end_cut <= len(cut)


@given(st.binary(max_size=512))
def test_garbage_never_raises(data: bytes) -> None:
    found, end = decode_records(data)
    assert 0 <= end <= len(data)
    assert all(isinstance(r, DeltaRecord | IncarnationRecord) for r in found)


def test_a_flipped_byte_stops_replay_there(tmp_path: Path) -> None:
    first, second = encode_record(DeltaRecord("t", b"one")), encode_record(DeltaRecord("t", b"two"))
    damaged = bytearray(first + second)
    damaged[len(first) + 9] ^= 0xFF
    (tmp_path / "wal-00000001.log").write_bytes(bytes(damaged))
    replay = read_segments(tmp_path)
    assert replay.records == [DeltaRecord("t", b"one")] and replay.torn == 1
    assert (tmp_path / "wal-00000001.log").stat().st_size == len(first)


async def test_group_commit_shares_syncs_and_rotation_removes_old_segments(tmp_path: Path) -> None:
    wal, replay = WriteAheadLog.open(tmp_path)
    assert replay.records == []

    async def write(i: int) -> None:
        wal.append(DeltaRecord("t", str(i).encode()))
        await wal.flush()

    await asyncio.gather(*(write(i) for i in range(200)))
    assert wal.pending == 0 and wal.syncs < 200
    segment = wal.rotate()
    wal.append(DeltaRecord("t", b"after"))
    await wal.flush()
    assert [n for n, _ in list_segments(tmp_path)] == [1, 2]
    assert wal.remove_before(segment) == 1
    await wal.close()
    again, replay = WriteAheadLog.open(tmp_path)
    assert replay.records == [DeltaRecord("t", b"after")]
    assert again.segment == 3
    await again.close()


async def test_a_record_reaches_disk_without_anyone_flushing(tmp_path: Path) -> None:
    wal, _ = WriteAheadLog.open(tmp_path)
    wal.append(DeltaRecord("ext", b"written by an extension"))
    for _ in range(200):
        if wal.pending == 0:
            break
        await asyncio.sleep(0.01)
    assert read_segments(tmp_path).records == [DeltaRecord("ext", b"written by an extension")]
    await wal.close()
