"""The chaos cluster: hosts as network namespaces on an underlay bridge (services/demo/netlab),
each with its own meshd and data dir, that the nemeses kill, pause, restart and skew.

Namespace names start with ``vnmchaos<pid>-``: a run removes what a dead earlier run left
behind (its pid is gone) and never touches a live run's namespaces.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from chaos.zookeeper import ZkEnsemble
from services.demo.netlab import API_PORT, GOSSIP_PORT, Host, Lab, cleanup_prefix, netns_list

PREFIX = "vnmchaos"
FAKETIME_LIB = Path("/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1")
STALE = re.compile(rf"^{PREFIX}(\d+)-")


def meshd_command() -> str:
    """The meshd to test: $MESHCHAOS_MESHD (an operator's own build), else the one installed
    beside this Python."""
    return os.environ.get("MESHCHAOS_MESHD") or str(Path(sys.executable).with_name("meshd"))


class ClusterError(RuntimeError):
    """An agent or server of the cluster could not be started."""


def remove_stale() -> int:
    """Delete the namespaces of earlier runs whose process is gone; returns how many runs."""
    gone = 0
    for pid in sorted({int(m.group(1)) for ns in netns_list() if (m := STALE.match(ns))}):
        if pid == os.getpid() or _alive(pid):
            continue
        cleanup_prefix(f"{PREFIX}{pid}")
        gone += 1
    return gone


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass(eq=False)
class Agent:
    """One host's meshd: its namespace, data dir, log, and the process when running."""

    host: Host
    data_dir: Path
    log: Path
    proc: subprocess.Popen[bytes] | None = None
    paused: bool = False
    skew: float = 0.0
    starts: int = 0

    @property
    def name(self) -> str:
        return self.host.name

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


@dataclass(eq=False)
class Cluster:
    """N hosts named h1..hN; call :meth:`close` (idempotent) to remove everything."""

    workdir: Path
    size: int
    datapath: str = "userspace"
    profile: str = "local"
    zookeeper: bool = False
    prefix: str = field(default_factory=lambda: f"{PREFIX}{os.getpid()}")
    lab: Lab = field(init=False)
    agents: dict[str, Agent] = field(default_factory=dict)
    zk: ZkEnsemble | None = None

    def __post_init__(self) -> None:
        self.lab = Lab(self.prefix, self.workdir, subnet=90)

    @property
    def underlay_ns(self) -> str:
        return self.lab.ul

    def create(self) -> None:
        """The underlay, the host namespaces, and ZooKeeper when asked (agents not started)."""
        self.lab.create_underlay()
        for i in range(1, self.size + 1):
            host = self.lab.add_host(f"h{i}")
            d = self.workdir / "hosts" / host.name
            (d / "data").mkdir(parents=True, exist_ok=True)
            self.agents[host.name] = Agent(host, d / "data", d / "meshd.log")
        if self.zookeeper:
            self.zk = ZkEnsemble(self.lab, self.workdir / "zookeeper", size=3)
            self.zk.create()
            self.zk.start()

    def address(self, name: str) -> str:
        return self.agents[name].host.underlay

    def api_url(self, name: str) -> str:
        return f"http://{self.address(name)}:{API_PORT}"

    # -- agents ------------------------------------------------------------------------

    def start_agent(self, name: str, skew: float = 0.0) -> None:
        """Start meshd on a host (same data dir each time); `skew` seconds of wall clock
        offset through libfaketime (the monotonic clock stays true)."""
        agent = self.agents[name]
        if agent.running:
            return
        args = [
            "ip", "netns", "exec", agent.host.ns,
            meshd_command(), "run",
            "--host-id", name,
            "--gossip", f"{agent.host.underlay}:{GOSSIP_PORT}",
            "--api", f"{agent.host.underlay}:{API_PORT}",
            "--profile", self.profile,
            "--datapath", self.datapath,
            "--data-dir", str(agent.data_dir),
        ]  # fmt: skip
        for other in self.agents.values():
            if other is not agent:
                args += ["--seed", f"{other.host.underlay}:{GOSSIP_PORT}"]
        if self.zk is not None:
            args += ["--zookeeper", self.zk.hosts, "--zookeeper-root", f"/{self.prefix}"]
        env = dict(os.environ)
        if skew:
            if not FAKETIME_LIB.exists():
                raise ClusterError(
                    f"{FAKETIME_LIB} missing: install Debian's faketime "
                    "(scripts/setup-system.sh chaos)"
                )
            env.update(
                LD_PRELOAD=str(FAKETIME_LIB),
                FAKETIME=f"{round(skew):+d}",
                FAKETIME_DONT_FAKE_MONOTONIC="1",
            )
        agent.log.parent.mkdir(parents=True, exist_ok=True)
        with agent.log.open("ab") as out:
            out.write(f"--- chaos: start {agent.starts + 1} skew={skew:+g}s\n".encode())
            out.flush()
            agent.proc = subprocess.Popen(
                args, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                env=env, start_new_session=True,
            )  # fmt: skip
        agent.host.proc = agent.proc
        agent.host.log = agent.log
        agent.paused = False
        agent.skew = skew
        agent.starts += 1

    def kill_agent(self, name: str) -> None:
        """SIGKILL meshd (no snapshot, no leave) and reap it."""
        agent = self.agents[name]
        proc = agent.proc
        if proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(10)
        agent.proc = None
        agent.paused = False

    def signal_agent(self, name: str, sig: int) -> None:
        """Send a signal to meshd's process group at once (no waiting: callable from the
        event loop the moment an answer arrives)."""
        proc = self.agents[name].proc
        if proc is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, sig)

    def stop_agent(self, name: str, timeout: float = 8.0) -> None:
        """SIGTERM (graceful leave and final snapshot); SIGKILL after `timeout`."""
        agent = self.agents[name]
        proc = agent.proc
        if proc is None:
            return
        if agent.paused:
            self.resume_agent(name)
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill_agent(name)
        agent.proc = None

    def pause_agent(self, name: str) -> None:
        agent = self.agents[name]
        if agent.proc is not None and agent.running:
            os.killpg(agent.proc.pid, signal.SIGSTOP)
            agent.paused = True

    def resume_agent(self, name: str) -> None:
        agent = self.agents[name]
        if agent.proc is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(agent.proc.pid, signal.SIGCONT)
        agent.paused = False

    def pids(self) -> list[int]:
        """Every process inside the cluster's namespaces (agents, VMs' helpers, ZooKeeper)."""
        out: list[int] = []
        for ns in netns_list():
            if ns.startswith(self.prefix + "-"):
                res = subprocess.run(
                    ["ip", "netns", "pids", ns], capture_output=True, text=True, check=False
                )
                out += [int(p) for p in res.stdout.split() if p.isdigit()]
        return out

    def rss_bytes(self) -> int:
        """Resident memory of every process in the cluster's namespaces."""
        total = 0
        for pid in self.pids():
            with contextlib.suppress(OSError, ValueError, IndexError):
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) * 1024
        return total

    def close(self) -> None:
        """Resume, stop and remove everything (idempotent; safe after a partial create)."""
        for agent in self.agents.values():
            if agent.paused:
                self.resume_agent(agent.name)
        for agent in self.agents.values():
            if agent.proc is not None and agent.running:
                with contextlib.suppress(ProcessLookupError):
                    agent.proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 3
        for agent in self.agents.values():
            if agent.proc is None:
                continue
            try:
                agent.proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.kill_agent(agent.name)
            agent.proc = None
        if self.zk is not None:
            self.zk.stop()
        self.lab.closed = True
        cleanup_prefix(self.prefix)
