"""Gossip encryption with a key file: members with the right key mesh; a member with the
wrong key (or none) never joins."""

from __future__ import annotations

import base64
import os
import time
from pathlib import Path

from tests.mesh_proc.harness import Meshd, all_alive, start_cluster, stop_all, wait_until


def key_file(path: Path, *keys: bytes) -> Path:
    path.write_text(
        "# meshd keyring: first key is primary\n"
        + "".join(base64.b64encode(k).decode() + "\n" for k in keys)
    )
    return path


def test_wrong_key_never_joins(tmp_path: Path) -> None:
    good_key, old_key, bad_key = os.urandom(32), os.urandom(16), os.urandom(32)
    good = key_file(tmp_path / "good.keys", good_key, old_key)
    bad = key_file(tmp_path / "bad.keys", bad_key)
    nodes = start_cluster(tmp_path, 3, prefix="k", key_file=good)
    outsiders: list[Meshd] = []
    try:
        wait_until(lambda: all_alive(nodes), timeout=60)
        # A member whose primary is the old (second) key still joins: rotation.
        rotated = key_file(tmp_path / "rotated.keys", old_key, good_key)
        late = Meshd("k-rot", tmp_path, seeds=[nodes[0].gossip_port], key_file=rotated)
        nodes.append(late.start())
        late.wait_ready()
        wait_until(lambda: all_alive(nodes), timeout=60)
        wrong = Meshd("wrong-key", tmp_path, seeds=[nodes[0].gossip_port], key_file=bad)
        plain = Meshd("no-key", tmp_path, seeds=[nodes[1].gossip_port])
        outsiders = [wrong.start(), plain.start()]
        for o in outsiders:
            o.wait_ready()
        assert nodes[0].put("secret", "v").status == 200
        wait_until(lambda: all(n.get("secret").status == 200 for n in nodes))
        # Watch for a while (several gossip and push-pull rounds): nobody lets them in.
        deadline = time.monotonic() + 6.0
        while time.monotonic() < deadline:
            for o in outsiders:
                assert set(o.member_states()) == {o.host_id}
                assert o.get("secret").status == 404
            for n in nodes:
                assert not {"wrong-key", "no-key"} & set(n.member_states())
            time.sleep(0.5)
        metrics = nodes[0].request("GET", "/metrics").body.decode()
        drops = [
            ln
            for ln in metrics.splitlines()
            if ln.startswith("mesh_drops_total{") and " 0.0" not in ln
        ]
        assert drops, "the outsiders' datagrams should be counted as drops"
    finally:
        stop_all(nodes + outsiders)
