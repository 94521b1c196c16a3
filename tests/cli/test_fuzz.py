"""Hypothesis: any argv gives exit 0, 1 or 2 with at most a one-line error, never a traceback."""

from __future__ import annotations

import os
from unittest import mock

from hypothesis import given
from hypothesis import strategies as st

from tests.cli.conftest import run
from tests.cli.fakeapi import FakeApi

WORDS = [
    "members", "kv", "get", "put", "set", "del", "delete", "rm", "ls", "list", "health",
    "metrics", "--json", "--state", "alive", "zombie", "--string", "-s", "--force", "-f",
    "--timeout", "0.5", "-1", "nan", "--token-file", "/nonexistent", "/dev/null", "-",
    "-h", "--help", "--api", "127.0.0.1:1", "[::1", "x:y", "http://", "''", "{}", "[1,",
    "\x00", "\udcff", "ü", "a/b", "%2F", "?", "#", "k" * 300,
]  # fmt: skip

# Free text never starts with '-' (so it cannot name an option such as --api) and stays
# printable-ish; options and odd values come from WORDS.
free_text = st.text(max_size=12).filter(lambda t: not t.startswith("-"))
argvs = st.lists(st.sampled_from(WORDS) | free_text, max_size=7)


def check(argv: list[str]) -> None:
    r = run(*argv, stdin="")
    assert r.code in (0, 1, 2), (argv, r)
    assert "Traceback" not in r.err and "internal error" not in r.err, (argv, r.err)
    if r.code != 0:
        assert "meshctl: error:" in r.err, (argv, r.err)


@given(argvs)
def test_any_argv_is_handled(servers: tuple[FakeApi, FakeApi], argv: list[str]) -> None:
    env = {"MESHCTL_API": servers[0].address}
    with mock.patch.dict(os.environ, env):
        os.environ.pop("MESHCTL_TOKEN_FILE", None)
        check(argv)


@given(st.sampled_from(["get", "put", "del", "ls"]), st.lists(free_text, max_size=3))
def test_kv_with_random_arguments(
    servers: tuple[FakeApi, FakeApi], sub: str, rest: list[str]
) -> None:
    with mock.patch.dict(os.environ, {"MESHCTL_API": servers[0].address}):
        check(["kv", sub, *rest])
