"""The nemesis' nftables rules: what they drop, that nft accepts them in a real namespace
and that clearing removes them; partition groups."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import uuid

import pytest

from chaos.nemesis import nft
from chaos.nemesis.runner import groups


def test_ruleset_drops_the_cut_peers_both_ways_and_loss_on_arrival() -> None:
    text = nft.ruleset(["10.250.90.3", "10.250.90.2"], 25)
    assert 'iifname "ul0" ip saddr { 10.250.90.2, 10.250.90.3 } counter drop' in text
    assert 'oifname "ul0" ip daddr { 10.250.90.2, 10.250.90.3 } counter drop' in text
    assert text.count("numgen random mod 100 < 25") == 1  # input only: each arrival once
    assert "numgen" not in nft.ruleset(["10.250.90.2"])


def test_groups_are_what_each_host_reaches() -> None:
    hosts = ["h1", "h2", "h3"]
    assert groups(hosts, [("h1", "h2"), ("h1", "h3")]) == [["h1"], ["h2", "h3"]]
    assert groups(hosts, []) == [hosts]


@pytest.mark.netns
@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("nft") is None, reason="needs root, nft")
def test_nft_loads_replaces_and_clears_in_a_namespace() -> None:
    ns = f"vnmnft-{uuid.uuid4().hex[:8]}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        asyncio.run(nft.apply(ns, nft.ruleset(["10.1.1.1"], 0)))
        asyncio.run(nft.apply(ns, nft.ruleset(["10.1.1.2"], 30)))  # atomic replace
        listing = asyncio.run(nft.listing(ns))
        assert "10.1.1.2" in listing and "10.1.1.1" not in listing
        assert "numgen random mod 100 < 30" in listing
        asyncio.run(nft.apply(ns, nft.clear()))
        asyncio.run(nft.apply(ns, nft.clear()))  # clearing twice is fine
        assert nft.TABLE not in asyncio.run(nft.listing(ns))
    finally:
        subprocess.run(["ip", "netns", "del", ns], check=False)
