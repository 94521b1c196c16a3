"""Run real meshd processes on loopback for tests and benchmarks: free ports, config files,
a tiny blocking HTTP client, and polling with a bounded wait."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]

# Fast timers for loopback (the "local" profile with 100 ms gossip).
TEST_MESH = {"gossip_interval": 0.1, "probe_interval": 0.5, "push_pull_interval": 5.0}


def meshd_command() -> list[str]:
    """The meshd console script of this venv (or ``python -m`` if it is not installed)."""
    script = Path(sys.executable).parent / "meshd"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "mesh.daemon.main"]


def _ephemeral_low() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


_rng = random.Random()


def free_port() -> int:
    """A port free for both UDP and TCP on 127.0.0.1 (the gossip address uses both), chosen
    below the kernel's ephemeral range so outgoing connections cannot take it meanwhile."""
    high = min(_ephemeral_low(), 65536) - 1
    low = max(1024, high - 12000)
    for _ in range(200):
        port = _rng.randint(low, high)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
            try:
                tcp.bind(("127.0.0.1", port))
            except OSError:
                continue
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                try:
                    udp.bind(("127.0.0.1", port))
                except OSError:
                    continue
            return port
    raise RuntimeError("no free port")


def wait_until(cond: Callable[[], Any], timeout: float = 30.0, interval: float = 0.1) -> Any:
    """Poll ``cond`` until it returns something truthy; AssertionError after ``timeout``."""
    deadline = time.monotonic() + timeout
    last_exc: BaseException | None = None
    while time.monotonic() < deadline:
        try:
            value = cond()
            if value:
                return value
        except (OSError, http.client.HTTPException, ValueError) as exc:
            last_exc = exc
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s (last error: {last_exc!r})")


@dataclass
class Response:
    status: int
    body: bytes
    headers: dict[str, str]

    def json(self) -> Any:
        return json.loads(self.body)


def http_request(
    port: int,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 10.0,
) -> Response:
    """One HTTP request to 127.0.0.1:port."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        data = resp.read()
        return Response(resp.status, data, {k.lower(): v for k, v in resp.getheaders()})
    finally:
        conn.close()


@dataclass
class Meshd:
    """One meshd process (start/kill/terminate/restart) plus helpers for its API."""

    host_id: str
    workdir: Path
    gossip_port: int = field(default_factory=free_port)
    api_port: int = field(default_factory=free_port)
    seeds: list[int] = field(default_factory=list)
    data_dir: Path | None = None
    key_file: Path | None = None
    token: str | None = None
    mesh: dict[str, Any] = field(default_factory=lambda: dict(TEST_MESH))
    extra_args: list[str] = field(default_factory=list)
    extra_config: str = ""
    env: dict[str, str] = field(default_factory=dict)
    entry_points: bool = False  # load installed extensions (off: test the plain daemon)
    proc: subprocess.Popen[bytes] | None = None
    starts: int = 0

    @property
    def log_path(self) -> Path:
        return self.workdir / f"{self.host_id}.log"

    @property
    def gossip(self) -> str:
        return f"127.0.0.1:{self.gossip_port}"

    def config_text(self) -> str:
        lines = [
            f'host_id = "{self.host_id}"',
            f'gossip = "{self.gossip}"',
            f'api = "127.0.0.1:{self.api_port}"',
            'profile = "local"',
            "snapshot_interval = 1.0",
            "leave_timeout = 0.5",
            f"seeds = {json.dumps([f'127.0.0.1:{p}' for p in self.seeds])}",
        ]
        if self.data_dir is not None:
            lines.append(f'data_dir = "{self.data_dir}"')
        if self.key_file is not None:
            lines.append(f'key_file = "{self.key_file}"')
        if self.token is not None:
            token_file = self.workdir / f"{self.host_id}.token"
            token_file.write_text(self.token + "\n")
            lines.append(f'api_token_file = "{token_file}"')
        lines.append(self.extra_config)
        lines.append("[mesh]")
        lines.extend(f"{k} = {json.dumps(v)}" for k, v in self.mesh.items())
        return "\n".join(lines) + "\n"

    def start(self) -> Meshd:
        self.workdir.mkdir(parents=True, exist_ok=True)
        cfg = self.workdir / f"{self.host_id}.toml"
        cfg.write_text(self.config_text())
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join([str(REPO), *filter(None, [env.get("PYTHONPATH")])])
        env.update(self.env)
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [
                *meshd_command(),
                "run",
                "--config",
                str(cfg),
                *([] if self.entry_points else ["--no-entry-points"]),
                *self.extra_args,
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            cwd=str(REPO),
        )
        log.close()
        self.starts += 1
        return self

    def wait_ready(self, timeout: float = 30.0) -> Meshd:
        def ready() -> bool:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise AssertionError(f"{self.host_id} exited:\n{self.log_tail()}")
            return http_request(self.api_port, "GET", "/healthz", timeout=2).status == 200

        wait_until(ready, timeout)
        return self

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def terminate(self, timeout: float = 20.0) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    # -- API helpers ---------------------------------------------------------------------

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def request(self, method: str, path: str, body: bytes | None = None) -> Response:
        return http_request(self.api_port, method, path, body, self._headers())

    def put(self, key: str, value: Any) -> Response:
        return self.request("PUT", f"/v1/kv/{key}", json.dumps(value).encode())

    def get(self, key: str) -> Response:
        return self.request("GET", f"/v1/kv/{key}")

    def kv(self) -> dict[str, Any]:
        resp = self.request("GET", "/v1/kv")
        assert resp.status == 200, resp
        result: dict[str, Any] = resp.json()
        return result

    def members(self) -> dict[str, dict[str, Any]]:
        resp = self.request("GET", "/v1/members")
        assert resp.status == 200, resp
        return {m["id"]: m for m in resp.json()}

    def member_states(self) -> dict[str, str]:
        return {k: v["state"] for k, v in self.members().items()}


def stop_all(nodes: Iterable[Meshd]) -> None:
    """SIGKILL whatever is still running (test teardown)."""
    for node in nodes:
        with contextlib.suppress(Exception):
            node.kill()


def start_cluster(
    workdir: Path,
    n: int,
    *,
    prefix: str = "n",
    persist: Iterable[int] = (),
    ready_timeout: float = 60.0,
    **kwargs: Any,
) -> list[Meshd]:
    """Start n meshd, all seeded with the first (those in ``persist`` get a data dir);
    wait until every API answers."""
    keep = set(persist)
    nodes: list[Meshd] = []
    for i in range(n):
        node = Meshd(f"{prefix}{i}", workdir, **kwargs)
        if i:
            node.seeds = [nodes[0].gossip_port]
        if i in keep:
            node.data_dir = workdir / f"{node.host_id}-data"
        nodes.append(node.start())
    try:
        for node in nodes:
            node.wait_ready(ready_timeout)
    except BaseException:
        stop_all(nodes)
        raise
    return nodes


def all_alive(nodes: list[Meshd]) -> bool:
    """Every node sees every node alive."""
    ids = {n.host_id for n in nodes}
    for node in nodes:
        states = node.member_states()
        if not all(states.get(i) == "alive" for i in ids):
            return False
    return True
