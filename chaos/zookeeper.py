"""A real three-server ZooKeeper ensemble for `meshchaos run --zookeeper`: each server in its
own namespace on the cluster's underlay (addresses .201...), so agents reach it and the
nemesis can kill its leader. Debian's `zookeeper` package on the system Java (the ideas of
tests/zk/zkserver.py, shipped here because tests/ is not installed)."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from datapath.netns import in_netns
from services.demo.netlab import UNDERLAY_NET, Lab, sh

ZK_JAR = Path("/usr/share/java/zookeeper.jar")
LOG_JAR = Path("/usr/share/java/slf4j-simple.jar")
MAIN_CLASS = "org.apache.zookeeper.server.quorum.QuorumPeerMain"
CLIENT_PORT = 2181
HEAP = "96m"
"""Small heap: the ensemble holds a few znodes per agent; the machine is shared."""


class ZkError(RuntimeError):
    """Java or ZooKeeper missing, or a server did not come up."""


@dataclass(eq=False)
class ZkNode:
    sid: int
    ns: str
    address: str
    directory: Path
    proc: subprocess.Popen[bytes] | None = None

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


@dataclass(eq=False)
class ZkEnsemble:
    lab: Lab
    workdir: Path
    size: int = 3
    tick_ms: int = 500
    nodes: list[ZkNode] = field(default_factory=list)

    @property
    def hosts(self) -> str:
        return ",".join(f"{n.address}:{CLIENT_PORT}" for n in self.nodes)

    def create(self) -> None:
        """Namespaces zk1..zkN on the underlay, their data dirs and configs."""
        if shutil.which("java") is None or not ZK_JAR.exists():
            raise ZkError("--zookeeper needs java and zookeeper: scripts/setup-system.sh zookeeper")
        for sid in range(1, self.size + 1):
            ns = f"{self.lab.prefix}-zk{sid}"
            addr = UNDERLAY_NET.format(n=self.lab.subnet, i=200 + sid)
            sh("ip", "netns", "add", ns)
            sh("ip", "-n", ns, "link", "set", "lo", "up")
            sh("ip", "-n", ns, "link", "add", "name", "ul0", "type", "veth", "peer", "name",
               f"z{sid}", "netns", self.lab.ul)  # fmt: skip
            sh("ip", "-n", self.lab.ul, "link", "set", f"z{sid}", "master", "ul", "up")
            sh("ip", "-n", ns, "addr", "add", f"{addr}/24", "dev", "ul0")
            sh("ip", "-n", ns, "link", "set", "ul0", "up")
            d = self.workdir / f"zk{sid}"
            (d / "data").mkdir(parents=True, exist_ok=True)
            (d / "data" / "myid").write_text(f"{sid}\n")
            self.nodes.append(ZkNode(sid, ns, addr, d))
        for n in self.nodes:
            (n.directory / "zoo.cfg").write_text(self._config(n))

    def _config(self, n: ZkNode) -> str:
        lines = [
            f"tickTime={self.tick_ms}",
            "initLimit=20",
            "syncLimit=5",
            f"dataDir={n.directory / 'data'}",
            f"clientPort={CLIENT_PORT}",
            f"clientPortAddress={n.address}",
            "admin.enableServer=false",
            "4lw.commands.whitelist=*",
            "minSessionTimeout=1000",
            "maxSessionTimeout=60000",
            "autopurge.purgeInterval=0",
        ]
        lines += [f"server.{o.sid}={o.address}:2888:3888" for o in self.nodes]
        return "\n".join(lines) + "\n"

    def start(self, timeout: float = 120.0) -> None:
        for n in self.nodes:
            self.start_node(n)
        deadline = time.monotonic() + timeout
        while not all(self.mode(n) for n in self.nodes):
            for n in self.nodes:
                if not n.running:
                    raise ZkError(f"zookeeper {n.sid} exited: {self.log_tail(n)}")
            if time.monotonic() > deadline:
                raise ZkError(f"zookeeper not serving after {timeout:.0f} s")
            time.sleep(0.3)

    def start_node(self, n: ZkNode) -> None:
        cmd = [
            "ip", "netns", "exec", n.ns, "java", f"-Xmx{HEAP}", "-Xss512k",
            "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Dzookeeper.jmx.log4j.disable=true",
            "-cp", os.environ.get("ZK_CLASSPATH", f"{ZK_JAR}:{LOG_JAR}"),
            MAIN_CLASS, str(n.directory / "zoo.cfg"),
        ]  # fmt: skip
        with (n.directory / "server.log").open("ab") as log:
            n.proc = subprocess.Popen(
                cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip

    def mode(self, n: ZkNode) -> str | None:
        """'leader' / 'follower' when serving, else None (the `srvr` four-letter word)."""
        try:
            with in_netns(self.lab.ul), socket.create_connection(
                (n.address, CLIENT_PORT), timeout=1.0
            ) as s:
                s.sendall(b"srvr")
                chunks = []
                while chunk := s.recv(4096):
                    chunks.append(chunk)
        except OSError:
            return None
        for line in b"".join(chunks).decode(errors="replace").splitlines():
            if line.startswith("Mode:"):
                return line.split(":", 1)[1].strip()
        return None

    def leader(self) -> ZkNode | None:
        for n in self.nodes:
            if n.running and self.mode(n) == "leader":
                return n
        return None

    def kill(self, n: ZkNode) -> None:
        if n.proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(n.proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            n.proc.wait(10)
        n.proc = None

    def log_tail(self, n: ZkNode, lines: int = 20) -> str:
        try:
            text = (n.directory / "server.log").read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        for n in self.nodes:
            self.kill(n)
