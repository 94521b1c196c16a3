"""Start real ZooKeeper servers (standalone or an ensemble) on free loopback ports for tests.

Uses Debian's `zookeeper` package (scripts/setup-system.sh zookeeper) on the system Java.
Each server runs in its own process group, in a temporary directory, with a small heap.
Run `python -m tests.zk.zkserver [N]` to start N servers by hand and print the hosts string.
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

ZK_JAR = Path("/usr/share/java/zookeeper.jar")
# zookeeper.jar's manifest names its own dependencies (netty, jute, slf4j-api, ...);
# slf4j-simple gives it a logger that writes to stderr (our log file).
LOG_JAR = Path("/usr/share/java/slf4j-simple.jar")
MAIN_CLASS = "org.apache.zookeeper.server.quorum.QuorumPeerMain"
SETUP_HINT = "install it with `scripts/setup-system.sh zookeeper` (or `make system`)"


def _die_with_parent() -> None:
    """In the child before exec: get SIGKILL when the parent dies (Linux prctl
    PR_SET_PDEATHSIG), so a killed test run never leaves ZooKeeper servers behind."""
    if _PRCTL is not None:
        _PRCTL(1, signal.SIGKILL)  # PR_SET_PDEATHSIG = 1


_PRCTL: Callable[..., int] | None
try:
    _PRCTL = ctypes.CDLL(None, use_errno=True).prctl
except (OSError, AttributeError):
    _PRCTL = None


class ZkUnavailable(RuntimeError):
    """Java or the ZooKeeper jars are missing, or a server did not come up."""


def check_installation() -> None:
    """Raise ZkUnavailable naming what is missing (java, the zookeeper jar)."""
    if shutil.which("java") is None:
        raise ZkUnavailable(f"java not found on PATH: {SETUP_HINT}")
    if not ZK_JAR.exists():
        raise ZkUnavailable(f"{ZK_JAR} not found (Debian package zookeeper): {SETUP_HINT}")


def free_ports(n: int) -> list[int]:
    """n distinct free TCP ports on 127.0.0.1 (bound together, then released)."""
    socks: list[socket.socket] = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def four_letter(port: int, cmd: str = "srvr", timeout: float = 2.0) -> str:
    """Send a four-letter-word command to a server; '' if it cannot be reached."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.sendall(cmd.encode())
            chunks = []
            while chunk := s.recv(4096):
                chunks.append(chunk)
            return b"".join(chunks).decode(errors="replace")
    except OSError:
        return ""


@dataclass
class ZkServer:
    """One ZooKeeper server process: its id, ports, directory and process."""

    sid: int
    client_port: int
    quorum_port: int
    election_port: int
    directory: Path
    proc: subprocess.Popen[bytes] | None = None
    paused: bool = False

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.client_port}"

    @property
    def log_path(self) -> Path:
        return self.directory / "server.log"

    def mode(self) -> str | None:
        """'leader', 'follower' or 'standalone' when serving, else None."""
        for line in four_letter(self.client_port).splitlines():
            if line.startswith("Mode:"):
                return line.split(":", 1)[1].strip()
        return None

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


@dataclass
class ZkCluster:
    """A standalone server (size 1) or an ensemble of `size` servers on loopback."""

    size: int = 1
    tick_ms: int = 500
    heap: str = "256m"
    base_dir: Path | None = None
    servers: list[ZkServer] = field(default_factory=list)
    _own_dir: bool = False

    def __post_init__(self) -> None:
        check_installation()
        if self.base_dir is None:
            self.base_dir = Path(tempfile.mkdtemp(prefix="vnetmesh-zk-"))
            self._own_dir = True
        ports = free_ports(3 * self.size)
        for i in range(self.size):
            sid = i + 1
            d = self.base_dir / f"zk{sid}"
            (d / "data").mkdir(parents=True, exist_ok=True)
            (d / "data" / "myid").write_text(f"{sid}\n")
            cport, qport, eport = ports[3 * i : 3 * i + 3]
            self.servers.append(ZkServer(sid, cport, qport, eport, directory=d))
        for s in self.servers:
            (s.directory / "zoo.cfg").write_text(self._config(s))

    @property
    def hosts(self) -> str:
        """The kazoo connection string naming every server."""
        return ",".join(s.address for s in self.servers)

    def _config(self, s: ZkServer) -> str:
        lines = [
            f"tickTime={self.tick_ms}",
            "initLimit=20",
            "syncLimit=5",
            f"dataDir={s.directory / 'data'}",
            f"clientPort={s.client_port}",
            "clientPortAddress=127.0.0.1",
            "admin.enableServer=false",
            "4lw.commands.whitelist=*",
            "minSessionTimeout=1000",
            "maxSessionTimeout=60000",
            "autopurge.purgeInterval=0",
        ]
        if self.size > 1:
            for o in self.servers:
                lines.append(f"server.{o.sid}=127.0.0.1:{o.quorum_port}:{o.election_port}")
        return "\n".join(lines) + "\n"

    def start(self, timeout: float = 90.0) -> None:
        """Start every server and wait until all serve (raise ZkUnavailable otherwise)."""
        for s in self.servers:
            self.start_server(s)
        self.wait_serving(self.servers, timeout)

    def start_server(self, s: ZkServer) -> None:
        cmd = [
            "java",
            f"-Xmx{self.heap}",
            "-Xss512k",
            "-XX:+UseSerialGC",
            "-XX:TieredStopAtLevel=1",
            "-Dzookeeper.jmx.log4j.disable=true",
            "-cp",
            os.environ.get("ZK_CLASSPATH", f"{ZK_JAR}:{LOG_JAR}"),
            MAIN_CLASS,
            str(s.directory / "zoo.cfg"),
        ]
        log = open(s.log_path, "ab")  # noqa: SIM115 - handed to the child process
        try:
            s.proc = subprocess.Popen(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                # Tied to the thread that starts it: start clusters from a long-lived thread.
                preexec_fn=_die_with_parent,
            )
        finally:
            log.close()
        s.paused = False

    def wait_serving(self, servers: Sequence[ZkServer], timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        pending = list(servers)
        while pending:
            pending = [s for s in pending if s.mode() is None]
            for s in pending:
                if not s.running():
                    raise ZkUnavailable(f"zookeeper {s.sid} exited:\n{s.log_tail()}")
            if not pending:
                return
            if time.monotonic() > deadline:
                tails = "\n".join(f"--- zk{s.sid}\n{s.log_tail()}" for s in pending)
                raise ZkUnavailable(f"zookeeper not serving after {timeout:.0f}s:\n{tails}")
            time.sleep(0.1)

    def leader(self) -> ZkServer | None:
        for s in self.servers:
            if s.running() and not s.paused and s.mode() in ("leader", "standalone"):
                return s
        return None

    def kill(self, s: ZkServer) -> None:
        """SIGKILL a server's process group and reap it."""
        if s.proc is None:
            return
        if s.paused:
            self.resume(s)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(s.proc.pid, signal.SIGKILL)
        s.proc.wait()
        s.proc = None

    def pause(self, s: ZkServer) -> None:
        """SIGSTOP a server (it neither answers nor expires sessions until resumed)."""
        if s.proc is not None:
            os.killpg(s.proc.pid, signal.SIGSTOP)
            s.paused = True

    def resume(self, s: ZkServer) -> None:
        if s.proc is not None:
            os.killpg(s.proc.pid, signal.SIGCONT)
            s.paused = False

    def stop(self) -> None:
        """Kill every server and remove the directory this cluster created."""
        for s in self.servers:
            self.kill(s)
        if self._own_dir and self.base_dir is not None:
            shutil.rmtree(self.base_dir, ignore_errors=True)

    def __enter__(self) -> ZkCluster:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main(argv: Sequence[str] | None = None) -> int:
    """Start N servers (default 1), print the hosts string, run until interrupted."""
    args = list(sys.argv[1:] if argv is None else argv)
    size = int(args[0]) if args else 1
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # stop cleanly on TERM too
    with ZkCluster(size=size) as cluster:
        print(cluster.hosts, flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            signal.pause()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
