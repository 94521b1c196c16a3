"""Test helpers: namespaced hosts and VMs on veth pairs, removed even when a test fails."""

from __future__ import annotations

import asyncio
import os
import subprocess
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest


def sh(*args: str) -> str:
    """Run a command, raising with its stderr on failure."""
    proc = subprocess.run(args, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(args)}: {proc.stderr.strip()}")
    return proc.stdout


def nsx(ns: str, *args: str) -> str:
    return sh("ip", "netns", "exec", ns, *args)


def need_root_netns() -> None:
    """Skip (naming what is missing) unless we can create network namespaces."""
    if os.geteuid() != 0:
        pytest.skip("needs root to create network namespaces")
    probe = f"dpprobe{uuid.uuid4().hex[:6]}"
    try:
        sh("ip", "netns", "add", probe)
    except (RuntimeError, FileNotFoundError) as exc:
        pytest.skip(f"needs network namespaces (ip netns add failed: {exc})")
    sh("ip", "netns", "del", probe)


class Lab:
    """Creates namespaces and veth pairs with unique names and deletes them all at the end."""

    def __init__(self) -> None:
        self.tag = uuid.uuid4().hex[:6]
        self.namespaces: list[str] = []

    def ns(self, role: str) -> str:
        name = f"dp{role}{len(self.namespaces)}{self.tag}"
        sh("ip", "netns", "add", name)
        self.namespaces.append(name)
        nsx(name, "ip", "link", "set", "lo", "up")
        # no IPv6 autoconfiguration chatter (MLD, router solicitations) in test traffic
        nsx(name, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1")
        nsx(name, "sysctl", "-qw", "net.ipv6.conf.default.disable_ipv6=1")
        return name

    def veth(self, ns_a: str, name_a: str, ns_b: str, name_b: str) -> None:
        """A veth pair with one end in each namespace, both up."""
        tmp_a, tmp_b = f"va{uuid.uuid4().hex[:8]}", f"vb{uuid.uuid4().hex[:8]}"
        sh("ip", "link", "add", tmp_a, "type", "veth", "peer", "name", tmp_b)
        sh("ip", "link", "set", tmp_a, "netns", ns_a, "name", name_a)
        sh("ip", "link", "set", tmp_b, "netns", ns_b, "name", name_b)
        nsx(ns_a, "ip", "link", "set", name_a, "up")
        nsx(ns_b, "ip", "link", "set", name_b, "up")

    def vm(self, host_ns: str, port_name: str, ip_cidr: str, mac: str) -> str:
        """A VM namespace with eth0 (``ip_cidr``, ``mac``) whose peer ``port_name`` is in host."""
        vm = self.ns("vm")
        self.veth(vm, "eth0", host_ns, port_name)
        nsx(vm, "ip", "link", "set", "eth0", "address", mac)
        nsx(vm, "ip", "addr", "add", ip_cidr, "dev", "eth0")
        return vm

    def cleanup(self) -> None:
        for name in reversed(self.namespaces):
            subprocess.run(["ip", "netns", "del", name], capture_output=True)
        self.namespaces.clear()


@contextmanager
def lab() -> Iterator[Lab]:
    the_lab = Lab()
    try:
        yield the_lab
    finally:
        the_lab.cleanup()


async def ping(ns: str, addr: str, count: int = 3) -> tuple[int, str]:
    """Ping from a namespace without blocking the event loop; (exit code, output)."""
    proc = await asyncio.create_subprocess_exec(
        "ip",
        "netns",
        "exec",
        ns,
        "ping",
        "-c",
        str(count),
        "-i",
        "0.2",
        "-W",
        "2",
        addr,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await proc.communicate()
    return proc.returncode or 0, out.decode()


async def next_upcall(
    upcalls: AsyncIterator[Any], want: Callable[[Any], bool], timeout: float = 20.0
) -> Any:
    """The next upcall that satisfies ``want``, skipping unrelated traffic (IPv6 MLD/ND sent
    when interfaces come up)."""
    async with asyncio.timeout(timeout):
        while True:
            up = await anext(upcalls)
            if want(up):
                return up
