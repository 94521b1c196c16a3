"""kv writes/s of a real meshd: without a data dir (memory only), with the write-ahead log
written but not synced (wal_fsync = false), and with it synced before every 200 (the
default, group commit); then the time a restart takes to replay N logged writes.

    .venv/bin/python benchmarks/kv_durability.py [--writes 2000] [--clients 1,16] [--json]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import http.client
import json
import re
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.mesh_proc.harness import Meshd, stop_all


class _Node(Meshd):
    """A meshd with the given extra top-level config and no periodic snapshot."""

    top: str = ""

    def config_text(self) -> str:
        text = (
            super().config_text().replace("snapshot_interval = 1.0", "snapshot_interval = 3600.0")
        )
        return self.top + "\n" + text if self.top else text


def _writes_per_second(node: Meshd, writes: int, clients: int) -> float:
    per = writes // clients

    def run(c: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", node.api_port, timeout=30)
        for i in range(per):
            conn.request("PUT", f"/v1/kv/c{c}-{i}", body=b'{"v": 1}')
            resp = conn.getresponse()
            resp.read()
            if resp.status != 200:
                raise RuntimeError(f"PUT answered {resp.status}")
        conn.close()

    start = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(clients) as pool:
        list(pool.map(run, range(clients)))
    return per * clients / (time.perf_counter() - start)


def _restore_seconds(node: Meshd) -> tuple[int, float]:
    text = node.log_path.read_text(errors="replace")
    found = re.findall(r"restored_records=(\d+) restore_seconds=([0-9.]+)", text)
    if not found:
        return 0, 0.0
    records, seconds = found[-1]
    return int(records), float(seconds)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--writes", type=int, default=2000)
    ap.add_argument("--clients", default="1,16")
    ap.add_argument("--replay", type=int, default=20000, help="writes logged before a restart")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    clients = [int(c) for c in args.clients.split(",")]
    results: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        modes = {
            "memory": (None, ""),
            "wal_no_fsync": ("nosync", "wal_fsync = false"),
            "wal_fsync": ("sync", ""),
        }
        for mode, (data, top) in modes.items():
            for c in clients:
                node = _Node(f"{mode}-{c}", work, data_dir=work / f"{data}-{c}" if data else None)
                node.top = top
                try:
                    node.start().wait_ready()
                    _writes_per_second(node, min(200, args.writes), c)  # warm up
                    rate = _writes_per_second(node, args.writes, c)
                finally:
                    stop_all([node])
                results[f"{mode}_clients{c}_writes_per_s"] = round(rate, 1)
                if not args.json:
                    print(f"{mode:>13}  clients={c:<3} {rate:9.1f} writes/s")
        node = _Node("replay", work, data_dir=work / "replay")
        try:
            node.start().wait_ready()
            _writes_per_second(node, args.replay, 16)
            node.kill()
            t0 = time.perf_counter()
            node.start().wait_ready()
            ready = time.perf_counter() - t0
            records, seconds = _restore_seconds(node)
            count = len(node.kv())
        finally:
            stop_all([node])
        results.update(
            replay_writes=args.replay,
            replay_records=records,
            replay_seconds=seconds,
            restart_to_ready_seconds=round(ready, 3),
            keys_after_restart=count,
        )
        if not args.json:
            print(
                f"replay: {records} log records in {seconds:.3f} s "
                f"(restart to ready {ready:.2f} s, {count} keys back)"
            )
    if args.json:
        print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
