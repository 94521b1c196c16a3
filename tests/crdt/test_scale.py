"""A 100,000-key ORMap[LWWRegister] encodes, decodes and joins within stated memory bounds.

Bounds (tracemalloc peak above the baseline, CPython 3.11, values {"mac": str, "port": int}):
encode < 64 MB (the msgpack output is ~5.5 MB, plus the plain structure it is packed
from), decode < 128 MB (about 0.75 KB a key retained, plus the unpacked structure), join of
two such maps < 48 MB (the result shares the unchanged entries of the inputs).
No timing assertions: benchmarks/crdt_bench.py prints the figures.
"""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable
from typing import Any

import msgpack

import crdt
from crdt import ORMap
from crdt.codec import MAGIC, VERSION

N = 100_000
MB = 1_000_000


def _frame(n: int, changed: int = 0) -> bytes:
    """The encoding of an n-key map written by replica "a"; the first `changed` keys are
    then rewritten by replica "b" (dots b:1.., later stamps). Built directly as msgpack so
    the test spends its time in the code under test."""
    body: list[Any] = []
    for i in range(n):
        value = {"mac": f"02:00:00:{i >> 16 & 255:02x}:{i >> 8 & 255:02x}:{i & 255:02x}", "port": i}
        if i < changed:
            body += [f"key-{i:07d}", [1, i + 1, [2000, 0, 1, "changed"]]]
        else:
            body += [f"key-{i:07d}", [0, i + 1, [1000, 0, 0, value]]]
    body_sorted: list[Any] = []
    pairs = sorted(zip(body[::2], body[1::2], strict=True), key=lambda kv: msgpack.packb(kv[0]))
    for k, v in pairs:
        body_sorted += [k, v]
    vv = [0, n] + ([1, changed] if changed else [])
    out: bytes = msgpack.packb(
        [
            MAGIC,
            VERSION,
            ["ormap", "lww"],
            ["a", "b"][: 2 if changed else 1],
            [[vv, []], body_sorted],
        ],
        use_bin_type=True,
    )
    return out


def _peak(fn: Callable[[], Any]) -> tuple[Any, int]:
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    out = fn()
    return out, tracemalloc.get_traced_memory()[1] - base


def test_100k_key_map_encode_decode_join_memory() -> None:
    a_bytes = _frame(N)
    b_bytes = _frame(N, changed=N // 100)
    tracemalloc.start()
    try:
        a, dec_peak = _peak(lambda: crdt.decode(a_bytes))
        b = crdt.decode(b_bytes)
        assert isinstance(a, ORMap) and len(a) == N
        enc, enc_peak = _peak(lambda: crdt.encode(a))
        j, join_peak = _peak(lambda: a.join(b))
    finally:
        tracemalloc.stop()
    assert enc == a_bytes  # the encoder reproduces the canonical form exactly
    assert j == b  # b had seen all of a
    assert j.get("key-0000000").value() == "changed"
    assert j.get("key-0099999").value()["port"] == N - 1
    assert len(j) == N
    assert enc_peak < 64 * MB, enc_peak
    assert dec_peak < 128 * MB, dec_peak
    assert join_peak < 48 * MB, join_peak
