"""The `traffic` workload: three tenants' VMs (namespaces behind the hosts, as in the demo).
Tenants A (10.0.1.0/24) and B (10.0.2.0/24) are joined by a router; tenant C (10.0.3.0/24)
has its own bridge and no route to anyone. VMs ping each other across hosts and hold TCP
streams; C's VMs listen for frames from other tenants while A's and B's aim frames at them."""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chaos.history import CROSS_TENANT, EXPECTED, INVOKE, OK, PING, STREAM, Json
from chaos.workloads.context import Context
from chaos.workloads.topology import TopologyWriter
from services.demo.netlab import Vm

AGENT_SCRIPT = Path(__file__).with_name("vmagent.py")
TENANTS = {"A": 1, "B": 2, "C": 3}
ECHO_PORT = 5001


@dataclass(frozen=True, slots=True)
class VmPlan:
    name: str
    tenant: str
    host: str
    octet: int

    @property
    def ip(self) -> str:
        return f"10.0.{TENANTS[self.tenant]}.{self.octet}"

    @property
    def mac(self) -> str:
        return f"02:00:00:00:{TENANTS[self.tenant]:02x}:{self.octet:02x}"


def plan(hosts: list[str]) -> list[VmPlan]:
    """Six VMs spread over the hosts so that every checked pair crosses hosts."""
    n = len(hosts)
    return [
        VmPlan("a1", "A", hosts[0], 11),
        VmPlan("a2", "A", hosts[1 % n], 12),
        VmPlan("b1", "B", hosts[2 % n], 21),
        VmPlan("b2", "B", hosts[3 % n], 22),
        VmPlan("c1", "C", hosts[1 % n], 31),
        VmPlan("c2", "C", hosts[(n - 1) % n], 32),
    ]


PINGS = [("a1", "a2"), ("a1", "b1"), ("b2", "a2"), ("b1", "b2"), ("c1", "c2"),
         ("a2", "c2"), ("b1", "c1")]  # fmt: skip
"""(src, dst) ping pairs; the last two cross into tenant C, which no route allows."""
STREAMS = [("a1", "b1"), ("c2", "c1")]
SPOOF = {"a2": "c1", "b2": "c2"}
"""VMs that send frames straight at another tenant's VM MAC (L2 isolation probe)."""
LISTENERS = ("c1", "c2")


async def _sysctl(ns: str, setting: str) -> None:
    await asyncio.to_thread(
        subprocess.run, ["ip", "netns", "exec", ns, "sysctl", "-qw", setting],
        capture_output=True, check=False,
    )  # fmt: skip


async def _mac(ns: str, ifname: str) -> str:
    """An interface's MAC ('' if it cannot be read)."""
    res = await asyncio.to_thread(
        subprocess.run, ["ip", "-n", ns, "-j", "link", "show", ifname],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    try:
        return str(json.loads(res.stdout)[0]["address"])
    except (ValueError, IndexError, KeyError):
        return ""


def reachable(src: VmPlan, dst: VmPlan) -> bool:
    """What the topology implies: A and B reach each other through the router; C is alone."""
    if src.tenant == dst.tenant:
        return True
    return "C" not in (src.tenant, dst.tenant)


class TrafficWorkload:
    name = "traffic"

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.vms = {v.name: v for v in plan(ctx.hosts)}
        self.ns: dict[str, Vm] = {}
        self.procs: dict[str, asyncio.subprocess.Process] = {}
        self._process: dict[tuple[str, str, str], int] = {}
        self.cross_samples: dict[str, list[str]] = {}
        self.tap_macs: dict[str, str] = {}

    async def setup(self) -> None:
        """Topology through h1's API (logged creates), VM namespaces, bindings on each host."""
        ctx = self.ctx
        lab = ctx.cluster.lab
        host = ctx.hosts[0]
        w = TopologyWriter(ctx)
        router = await w.must_create(host, "routers", {"tenant_id": "provider", "name": "r1"})
        bridges: dict[str, str] = {}
        for tenant, n in TENANTS.items():
            bridge = await w.must_create(
                host, "bridges", {"tenant_id": tenant, "name": f"net{tenant}"}
            )
            bridges[tenant] = bridge["id"]
            if tenant == "C":
                continue  # tenant C: no router port, no route
            rport = await w.must_create(host, "ports", {
                "tenant_id": "provider", "device_id": router["id"], "address": f"10.0.{n}.1/24"})
            bport = await w.must_create(
                host, "ports", {"tenant_id": tenant, "device_id": bridge["id"]})
            await w.must_post(host, f"/v1/ports/{rport['id']}/link", {"peer_id": bport["id"]})
            await w.must_create(host, "routes", {
                "tenant_id": "provider", "router_id": router["id"], "dst": f"10.0.{n}.0/24",
                "next_hop_port": rport["id"]})
        for name in {vm.host for vm in self.vms.values()}:
            # the host side of a VM link must not speak (IPv6 router solicitations, MLD):
            # only the virtual network should reach a VM
            await _sysctl(lab.hosts[name].ns, "net.ipv6.conf.default.disable_ipv6=1")
        for vm in self.vms.values():
            gw = f"10.0.{TENANTS[vm.tenant]}.1" if vm.tenant != "C" else None
            made = await asyncio.to_thread(
                lab.add_vm, vm.name, lab.hosts[vm.host], vm.mac, vm.ip, 24, gw
            )
            self.ns[vm.name] = made
            await _sysctl(made.ns, "net.ipv6.conf.all.disable_ipv6=1")
            self.tap_macs[vm.name] = await _mac(lab.hosts[vm.host].ns, made.interface)
            await w.must_create(host, "ports", {
                "tenant_id": vm.tenant, "device_id": bridges[vm.tenant], "mac": vm.mac,
                "addresses": [vm.ip], "binding": {"host_id": vm.host, "interface": made.interface}})
        per_host: dict[str, int] = {}
        for vm in self.vms.values():
            per_host[vm.host] = per_host.get(vm.host, 0) + 1
        for host_name, count in per_host.items():
            await self._wait_bound(host_name, count)
        vms: Json = {v.name: {"host": v.host, "tenant": v.tenant} for v in self.vms.values()}
        pairs: list[Json] = [
            {"src": s, "dst": d, "reachable": reachable(self.vms[s], self.vms[d])}
            for s, d in PINGS
        ]
        ctx.recorder.op(ctx.process(), OK, EXPECTED, {"pairs": pairs, "vms": vms})

    async def _wait_bound(self, host: str, count: int, timeout: float = 60) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            ans = await self.ctx.client.call(host, "GET", "/v1/agent")
            if ans.ok and isinstance(ans.body, dict) and len(ans.body.get("bindings", [])) >= count:
                return
            await asyncio.sleep(0.3)
        raise RuntimeError(f"{host} did not bind its {count} VM ports within {timeout:.0f} s")

    def _config(self, vm: VmPlan) -> dict[str, Any]:
        cfg: dict[str, Any] = {"name": vm.name, "ip": vm.ip, "mac": vm.mac}
        cfg["pings"] = [self.vms[d].ip for s, d in PINGS if s == vm.name]
        if any(d == vm.name for _, d in STREAMS):
            cfg["echo_port"] = ECHO_PORT
        for s, d in STREAMS:
            if s == vm.name:
                cfg["stream"] = {"dst": self.vms[d].ip, "port": ECHO_PORT}
        if vm.name in LISTENERS:
            subnet = f"10.0.{TENANTS[vm.tenant]}.0/24"
            macs = [v.mac for v in self.vms.values() if v.tenant == vm.tenant]
            # frames from the host end of the VM's own link come from that host's kernel,
            # not through the virtual network: not counted
            ignore = [self.tap_macs[vm.name]] if self.tap_macs.get(vm.name) else []
            cfg["listen"] = {"subnet": subnet, "macs": macs, "ignore": ignore}
        if vm.name in SPOOF:
            t = self.vms[SPOOF[vm.name]]
            cfg["spoof"] = [{"mac": t.mac, "ip": t.ip}]
        return cfg

    def _proc_of(self, *key: str) -> int:
        k = (key[0], key[1], key[2] if len(key) > 2 else "")
        if k not in self._process:
            self._process[k] = self.ctx.process()
        return self._process[k]

    async def run(self) -> None:
        tasks = [asyncio.create_task(self._vm(v)) for v in self.vms.values()]
        try:
            await self.ctx.stop.wait()
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _vm(self, vm: VmPlan) -> None:
        ns = self.ns[vm.name].ns
        proc = await asyncio.create_subprocess_exec(
            "ip", "netns", "exec", ns, sys.executable, str(AGENT_SCRIPT),
            json.dumps(self._config(vm)),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
            stdin=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        self.procs[vm.name] = proc
        assert proc.stdout is not None
        try:
            while line := await proc.stdout.readline():
                with contextlib.suppress(ValueError, KeyError, TypeError):
                    self._report(vm, json.loads(line))
        finally:
            if proc.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                await proc.wait()

    def _report(self, vm: VmPlan, r: dict[str, Any]) -> None:
        rec = self.ctx.recorder
        by_ip = {v.ip: v.name for v in self.vms.values()}
        if "ping" in r:
            t0, t1 = rec.since(r["ping"]["t0"]), rec.since(r["ping"]["t1"])
            for ip, (sent, received) in r["ping"]["by"].items():
                dst = by_ip[ip]
                p = self._proc_of("ping", vm.name, dst)
                value: Json = {"src": vm.name, "dst": dst, "sent": sent, "received": received}
                rec.op(p, INVOKE, PING, None, node=vm.host, at=t0)
                rec.op(p, OK, PING, value, node=vm.host, at=max(t0, t1))
        t0, t1 = rec.since(r["t0"]), rec.since(r["t1"])
        if "stream" in r:
            dst = next(d for s, d in STREAMS if s == vm.name)
            p = self._proc_of("stream", vm.name, dst)
            value = {"src": vm.name, "dst": dst, "connected": bool(r["stream"]["connected"]),
                     "bytes": int(r["stream"]["bytes"])}
            rec.op(p, INVOKE, STREAM, None, node=vm.host, at=t0)
            rec.op(p, OK, STREAM, value, node=vm.host, at=t1)
        if "cross" in r:
            p = self._proc_of("cross", vm.name)
            rec.op(p, OK, CROSS_TENANT, {"vm": vm.name, "tenant": vm.tenant,
                                         "count": int(r["cross"])}, node=vm.host, at=t1)
            self.cross_samples[vm.name] = list(r.get("cross_samples", []))

    async def close(self) -> None:
        for proc in self.procs.values():
            if proc.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
        for proc in self.procs.values():
            with contextlib.suppress(Exception):
                await asyncio.wait_for(proc.wait(), 5)

