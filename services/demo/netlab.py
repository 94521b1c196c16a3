"""A lab of network namespaces on one machine: an underlay bridge, hosts running meshd, and
VMs on veth ports. Used by ``meshd demo`` and the agent tests (needs root).

Every name starts with the lab's prefix, so a stale lab (a killed run) is found and removed
by prefix. Addresses are only ever configured inside the lab's own namespaces.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from datapath.netns import in_netns

UNDERLAY_NET = "10.250.{n}.{i}"
GOSSIP_PORT = 7946
API_PORT = 8080


class LabError(RuntimeError):
    """A lab command failed."""


def sh(*args: str, check: bool = True, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    """Run a command (no shell), capturing output; LabError on failure when `check`."""
    proc = subprocess.run(args, capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise LabError(f"{' '.join(args)}: {proc.stderr.strip() or proc.stdout.strip()}")
    return proc


def netns_list() -> list[str]:
    """Names of the existing network namespaces."""
    out = sh("ip", "netns", "list", check=False).stdout
    return [line.split()[0] for line in out.splitlines() if line.strip()]


def cleanup_prefix(prefix: str) -> int:
    """Kill processes in, and delete, every namespace named ``prefix-*``; returns how many."""
    gone = 0
    for ns in netns_list():
        if ns.startswith(prefix + "-"):
            for pid in sh("ip", "netns", "pids", ns, check=False).stdout.split():
                with contextlib.suppress(ProcessLookupError, ValueError):
                    os.kill(int(pid), signal.SIGKILL)
            sh("ip", "netns", "del", ns, check=False)
            gone += 1
    return gone


@dataclass
class Host:
    """A namespaced host with a meshd agent."""

    name: str
    ns: str
    underlay: str
    proc: subprocess.Popen[bytes] | None = None
    log: Path | None = None

    @property
    def api(self) -> str:
        return f"http://{self.underlay}:{API_PORT}"


@dataclass
class Vm:
    """A namespaced VM behind a veth; `interface` is its host-side end (the bound port)."""

    name: str
    ns: str
    host: Host
    interface: str
    mac: str
    ip: str
    plen: int
    gateway: str | None


@dataclass
class Lab:
    """Namespaces named ``{prefix}-...``; call ``close()`` (idempotent) to remove them."""

    prefix: str
    workdir: Path
    subnet: int = 0  # third octet of the underlay 10.250.N.0/24
    hosts: dict[str, Host] = field(default_factory=dict)
    vms: dict[str, Vm] = field(default_factory=dict)
    closed: bool = False

    @property
    def ul(self) -> str:
        """The underlay namespace (bridge 'ul' with the lab controller's address .254)."""
        return f"{self.prefix}-ul"

    def create_underlay(self) -> None:
        sh("ip", "netns", "add", self.ul)
        sh("ip", "-n", self.ul, "link", "set", "lo", "up")
        sh("ip", "-n", self.ul, "link", "add", "name", "ul", "type", "bridge")
        sh("ip", "-n", self.ul, "link", "set", "ul", "up")
        addr = UNDERLAY_NET.format(n=self.subnet, i=254)
        sh("ip", "-n", self.ul, "addr", "add", f"{addr}/24", "dev", "ul")

    def add_host(self, name: str) -> Host:
        """A host namespace with uplink 'ul0' on the underlay bridge."""
        idx = len(self.hosts) + 1
        ns = f"{self.prefix}-{name}"
        addr = UNDERLAY_NET.format(n=self.subnet, i=idx)
        sh("ip", "netns", "add", ns)
        sh("ip", "-n", ns, "link", "set", "lo", "up")
        sh("ip", "-n", ns, "link", "add", "name", "ul0", "type", "veth", "peer", "name", f"p{idx}",
           "netns", self.ul)  # fmt: skip
        sh("ip", "-n", self.ul, "link", "set", f"p{idx}", "master", "ul", "up")
        sh("ip", "-n", ns, "addr", "add", f"{addr}/24", "dev", "ul0")
        sh("ip", "-n", ns, "link", "set", "ul0", "up")
        host = Host(name, ns, addr)
        self.hosts[name] = host
        return host

    def add_vm(
        self, name: str, host: Host, mac: str, ip: str, plen: int, gateway: str | None
    ) -> Vm:
        """A VM namespace whose eth0 (MAC `mac`) pairs with `tap-<name>` on `host`."""
        ns = f"{self.prefix}-{name}"
        tap = f"tap-{name}"[:15]
        sh("ip", "netns", "add", ns)
        sh("ip", "-n", ns, "link", "set", "lo", "up")
        sh("ip", "-n", ns, "link", "add", "name", "eth0", "type", "veth", "peer", "name", tap,
           "netns", host.ns)  # fmt: skip
        # one MSS per frame: the datapath moves frames, not GSO super-packets
        sh("ip", "-n", ns, "link", "set", "eth0", "address", mac, "mtu", "1400",
           "gso_max_segs", "1")  # fmt: skip
        sh("ip", "-n", ns, "addr", "add", f"{ip}/{plen}", "dev", "eth0")
        sh("ip", "-n", ns, "link", "set", "eth0", "up")
        sh("ip", "-n", host.ns, "link", "set", tap, "mtu", "1400", "up")
        if gateway is not None:
            sh("ip", "-n", ns, "route", "add", "default", "via", gateway)
        vm = Vm(name, ns, host, tap, mac, ip, plen, gateway)
        self.vms[name] = vm
        return vm

    def start_meshd(self, host: Host, seed: Host | None, datapath: str = "userspace") -> None:
        """Start meshd in the host's namespace (log in the workdir)."""
        meshd = Path(sys.executable).with_name("meshd")
        args = [
            "ip", "netns", "exec", host.ns, str(meshd), "run",
            "--host-id", host.name,
            "--gossip", f"{host.underlay}:{GOSSIP_PORT}",
            "--api", f"{host.underlay}:{API_PORT}",
            "--profile", "local",
            "--datapath", datapath,
        ]  # fmt: skip
        if seed is not None:
            args += ["--seed", f"{seed.underlay}:{GOSSIP_PORT}"]
        host.log = self.workdir / f"{host.name}.log"
        with host.log.open("wb") as out:
            host.proc = subprocess.Popen(
                args, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )

    def request(self, host: Host, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        """An HTTP request to a host's API, made from inside the underlay namespace."""
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(host.api + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        with in_netns(self.ul):
            try:
                with urllib.request.urlopen(req, timeout=5) as resp:
                    raw = resp.read()
                    return resp.status, json.loads(raw) if raw else None
            except urllib.error.HTTPError as e:
                raw = e.read()
                try:
                    return e.code, json.loads(raw)
                except ValueError:
                    return e.code, raw.decode(errors="replace")

    def api(self, host: Host, method: str, path: str, body: Any = None) -> Any:
        """request() that raises unless the status is 2xx."""
        status, out = self.request(host, method, path, body)
        if not 200 <= status < 300:
            raise LabError(f"{method} {path} on {host.name}: {status} {out}")
        return out

    def wait_ready(self, host: Host, timeout: float = 90) -> None:
        """Until the host's API answers."""

        def ready() -> bool:
            if host.proc is not None and host.proc.poll() is not None:
                raise LabError(f"meshd on {host.name} exited: {self.log_tail(host)}")
            try:
                return self.request(host, "GET", "/v1/agent")[0] == 200
            except OSError:
                return False

        wait(ready, timeout, f"meshd on {host.name} ready")

    def log_tail(self, host: Host, lines: int = 15) -> str:
        if host.log is None or not host.log.exists():
            return ""
        return "\n".join(host.log.read_text(errors="replace").splitlines()[-lines:])

    def vm_exec(
        self, vm: Vm, *args: str, timeout: float = 30, check: bool = False
    ) -> subprocess.CompletedProcess[str]:
        """Run a command inside a VM namespace."""
        return sh("ip", "netns", "exec", vm.ns, *args, check=check, timeout=timeout)

    def ping(self, vm: Vm, dst: str, count: int = 3, wait_s: float = 1) -> bool:
        """True if at least one echo reply came back."""
        out = self.vm_exec(vm, "ping", "-c", str(count), "-i", "0.2", "-W", str(wait_s), dst)
        return out.returncode == 0

    def stop_meshd(self) -> None:
        for host in self.hosts.values():
            if host.proc is not None and host.proc.poll() is None:
                host.proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 5
        for host in self.hosts.values():
            if host.proc is None:
                continue
            try:
                host.proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                host.proc.kill()
                host.proc.wait()

    def close(self) -> None:
        """Stop every meshd and delete every namespace of the lab (idempotent)."""
        if self.closed:
            return
        self.closed = True
        self.stop_meshd()
        cleanup_prefix(self.prefix)


def wait(cond: Callable[[], bool], timeout: float, what: str, interval: float = 0.1) -> None:
    """Poll `cond` until true; LabError naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        if cond():
            return
        if time.monotonic() > deadline:
            raise LabError(f"timed out waiting for {what}")
        time.sleep(interval)


def tcp_transfer(
    lab: Lab,
    server: Vm,
    client: Vm,
    port: int = 5001,
    size: int = 200_000,
    attempts: int = 50,
    connect_timeout: float = 5,
) -> bool:
    """Send `size` bytes from `client` to a Python server on `server`; True if all arrived."""
    code = (
        "import socket,sys\n"
        "s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
        f"s.bind(('{server.ip}', {port})); s.listen(1)\n"
        f"s.settimeout({attempts * connect_timeout + 10})\n"
        "c,_=s.accept(); c.settimeout(15); n=0\n"
        "while True:\n"
        "    b=c.recv(65536)\n"
        "    if not b: break\n"
        "    n+=len(b)\n"
        "c.sendall(str(n).encode()); c.close()\n"
    )
    srv = subprocess.Popen(
        ["ip", "netns", "exec", server.ns, sys.executable, "-c", code],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    failed = True
    try:
        client_code = (
            "import socket,time\n"
            "s=None\n"
            f"for i in range({attempts}):\n"
            "    try:\n"
            f"        s=socket.create_connection(('{server.ip}', {port}), {connect_timeout})\n"
            "        break\n"
            "    except OSError: time.sleep(0.1)\n"
            "if s is None: raise SystemExit(1)\n"
            "s.settimeout(15)\n"
            f"s.sendall(b'x'*{size}); s.shutdown(socket.SHUT_WR)\n"
            "print(s.recv(64).decode())\n"
        )
        out = lab.vm_exec(
            client, sys.executable, "-c", client_code, timeout=attempts * connect_timeout + 30
        )
        failed = out.returncode != 0
        return out.returncode == 0 and out.stdout.strip() == str(size)
    finally:
        try:
            srv.wait(1 if failed else 5)
        except subprocess.TimeoutExpired:
            srv.kill()
            srv.wait()
