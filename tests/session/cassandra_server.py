"""Start real Cassandra nodes (one, or a small cluster) on loopback for tests.

The jars come from Maven Central through scripts/cassandra/cassandra.sh fetch (cached under
~/.cache/vnetmesh, so only the first run downloads); each node runs from the same
jvm.options, cassandra.yaml.in and logback.xml as the script, on free ports, in its own
temporary directory and process group, and dies with the process that started it.
Run ``python -m tests.session.cassandra_server [N]`` to start N nodes by hand.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / "scripts" / "cassandra"
MAIN_CLASS = "org.apache.cassandra.service.CassandraDaemon"
SETUP_HINT = "install java and maven with `scripts/setup-system.sh cassandra` (or `make system`)"


class CassandraUnavailable(RuntimeError):
    """Java, maven or the jars are missing, or a node did not come up."""


def _die_with_parent() -> None:
    """In the child before exec: SIGKILL when the starting thread's process dies."""
    if _PRCTL is not None:
        _PRCTL(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


_PRCTL: Callable[..., int] | None
try:
    _PRCTL = ctypes.CDLL(None, use_errno=True).prctl
except (OSError, AttributeError):
    _PRCTL = None


def fetch_jars() -> Path:
    """The directory of Cassandra's jars, fetched with maven the first time."""
    if shutil.which("java") is None:
        raise CassandraUnavailable(f"java not found on PATH: {SETUP_HINT}")
    proc = subprocess.run(
        [str(SCRIPTS / "cassandra.sh"), "fetch"], capture_output=True, text=True, timeout=900
    )
    if proc.returncode != 0:
        raise CassandraUnavailable(f"fetching the jars failed: {proc.stderr.strip()}")
    lib = Path(proc.stdout.strip().splitlines()[-1])
    if not any(lib.glob("cassandra-all-*.jar")):
        raise CassandraUnavailable(f"no cassandra-all jar in {lib}")
    return lib


def jvm_options() -> list[str]:
    lines = (SCRIPTS / "jvm.options").read_text().splitlines()
    return [s.strip() for s in lines if s.strip() and not s.strip().startswith("#")]


def free_port_on(addresses: Sequence[str], avoid: set[int]) -> int:
    """A TCP port free on every one of ``addresses`` (bound, then released)."""
    for _ in range(200):
        with socket.socket() as s:
            s.bind((addresses[0], 0))
            port = s.getsockname()[1]
        if port in avoid:
            continue
        ok = True
        for addr in addresses[1:]:
            with socket.socket() as s:
                try:
                    s.bind((addr, port))
                except OSError:
                    ok = False
                    break
        if ok:
            return port
    raise CassandraUnavailable(f"no port free on all of {addresses}")


def cql_answers(address: str, port: int, timeout: float = 1.0) -> bool:
    """True if the node's native transport accepts a connection (it starts last)."""
    try:
        with socket.create_connection((address, port), timeout=timeout):
            return True
    except OSError:
        return False


@dataclass
class CassandraNode:
    """One node: its loopback address, ports, directory and process."""

    index: int
    address: str
    cql_port: int
    storage_port: int
    directory: Path
    seeds: str
    cluster_name: str
    heap: str
    lib: Path
    proc: subprocess.Popen[bytes] | None = None

    @property
    def contact_point(self) -> tuple[str, int]:
        return (self.address, self.cql_port)

    @property
    def log_path(self) -> Path:
        return self.directory / "logs" / "system.log"

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def ready(self) -> bool:
        return self.running() and cql_answers(self.address, self.cql_port)

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def write_config(self) -> None:
        for d in ("data", "commitlog", "saved_caches", "hints", "cdc_raw", "logs"):
            (self.directory / d).mkdir(parents=True, exist_ok=True)
        text = (SCRIPTS / "cassandra.yaml.in").read_text()
        for k, v in {
            "@NODE_DIR@": str(self.directory),
            "@ADDRESS@": self.address,
            "@SEEDS@": self.seeds,
            "@CLUSTER@": self.cluster_name,
            "@CQL_PORT@": str(self.cql_port),
            "@STORAGE_PORT@": str(self.storage_port),
        }.items():
            text = text.replace(k, v)
        (self.directory / "cassandra.yaml").write_text(text)

    def start(self) -> None:
        """Launch the JVM (returns at once; :meth:`wait_ready` waits). Call it from a
        thread that outlives the node (the main thread): the node dies with that thread."""
        if self.running():
            return
        self.write_config()
        cmd = [
            "java",
            f"-Xms{self.heap}",
            f"-Xmx{self.heap}",
            *jvm_options(),
            f"-Dcassandra.config=file://{self.directory / 'cassandra.yaml'}",
            f"-Dcassandra.storagedir={self.directory}",
            f"-Dcassandra.logdir={self.directory / 'logs'}",
            f"-Dlogback.configurationFile=file://{SCRIPTS / 'logback.xml'}",
            "-Dcassandra.skip_wait_for_gossip_to_settle=0",
            "-Dcassandra.ring_delay_ms=1000",
            "-cp",
            f"{self.lib}/*",
            MAIN_CLASS,
        ]
        out = open(self.directory / "logs" / "stdout.log", "ab")  # noqa: SIM115 - child's
        try:
            self.proc = subprocess.Popen(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )
        finally:
            out.close()

    def wait_ready(self, timeout: float = 180.0) -> None:
        deadline = time.monotonic() + timeout
        while not cql_answers(self.address, self.cql_port):
            if not self.running():
                raise CassandraUnavailable(
                    f"cassandra node {self.index} exited:\n{self.log_tail()}"
                )
            if time.monotonic() > deadline:
                raise CassandraUnavailable(
                    f"cassandra node {self.index} not answering CQL after {timeout:.0f}s:\n"
                    f"{self.log_tail()}"
                )
            time.sleep(0.2)

    def pause(self) -> None:
        """SIGSTOP the node: it holds connections open and answers nothing (a slow node)."""
        if self.proc is not None:
            os.killpg(self.proc.pid, signal.SIGSTOP)

    def resume(self) -> None:
        if self.proc is not None:
            os.killpg(self.proc.pid, signal.SIGCONT)

    def kill(self) -> None:
        """SIGKILL the node's process group and reap it (its data stays)."""
        if self.proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGCONT)
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        self.proc = None


@dataclass
class CassandraCluster:
    """``size`` nodes on 127.0.0.1..size, every one a seed (they start together)."""

    size: int = 1
    heap: str = "512M"
    name: str = "vnetmesh-test"
    base_dir: Path | None = None
    avoid_ports: set[int] = field(default_factory=set)
    nodes: list[CassandraNode] = field(default_factory=list)
    _own_dir: bool = False

    def __post_init__(self) -> None:
        lib = fetch_jars()
        if self.base_dir is None:
            self.base_dir = Path(tempfile.mkdtemp(prefix="vnetmesh-cassandra-"))
            self._own_dir = True
        addresses = [f"127.0.0.{i + 1}" for i in range(self.size)]
        cql = free_port_on(addresses, self.avoid_ports)
        storage = free_port_on(addresses, self.avoid_ports | {cql})
        seeds = ",".join(f"{a}:{storage}" for a in addresses)
        for i, addr in enumerate(addresses):
            self.nodes.append(
                CassandraNode(
                    i + 1,
                    addr,
                    cql,
                    storage,
                    self.base_dir / f"node{i + 1}",
                    seeds,
                    f"{self.name}-{self.size}",
                    self.heap,
                    lib,
                )
            )

    @property
    def contact_points(self) -> list[tuple[str, int]]:
        return [n.contact_point for n in self.nodes]

    @property
    def ports(self) -> set[int]:
        return {p for n in self.nodes for p in (n.cql_port, n.storage_port)}

    def start(self, timeout: float = 240.0) -> None:
        """Start every node and wait until all answer CQL."""
        for n in self.nodes:
            n.start()
        try:
            for n in self.nodes:
                n.wait_ready(timeout)
        except CassandraUnavailable:
            self.stop()
            raise

    def stop(self) -> None:
        """Kill every node and remove the directory this cluster created."""
        for n in self.nodes:
            n.kill()
        if self._own_dir and self.base_dir is not None:
            shutil.rmtree(self.base_dir, ignore_errors=True)

    def __enter__(self) -> CassandraCluster:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main(argv: Sequence[str] | None = None) -> int:
    """Start N nodes (default 1), print the contact points, run until interrupted."""
    args = list(sys.argv[1:] if argv is None else argv)
    size = int(args[0]) if args else 1
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    with CassandraCluster(size=size) as cluster:
        print(",".join(f"{h}:{p}" for h, p in cluster.contact_points), flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            signal.pause()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
