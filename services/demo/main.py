"""``meshd demo``: three hosts as network namespaces, each with its own meshd agent; two
tenants' VMs on veth ports and a router between them, configured through one agent's API.

Prints a reachability matrix from real pings, a TCP transfer (allowed and forbidden), the
flows on each host and a trace; exits 0 only if everything allowed passed and everything
forbidden was blocked. Cleans up on exit, on SIGINT/SIGTERM, and stale labs at start.
"""

from __future__ import annotations

import argparse
import itertools
import os
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

from services.demo import scenario
from services.demo.netlab import Host, Lab, LabError, cleanup_prefix, tcp_transfer, wait
from services.demo.scenario import Network, VmSpec

SPECS = [
    VmSpec("a1", "A", "h1", 11),
    VmSpec("a2", "A", "h2", 12),
    VmSpec("b1", "B", "h2", 21),
    VmSpec("b2", "B", "h3", 22),
]
BLOCKED_SRC = "a2"  # the rule: bridge B drops ICMP from a2's address
TELNET = 23  # the rule: bridge B drops TCP to port 23


class Interrupted(Exception):
    """SIGINT or SIGTERM arrived."""


def _on_signal(signum: int, frame: FrameType | None) -> None:
    raise Interrupted(signal.Signals(signum).name)


def say(text: str = "") -> None:
    print(text, flush=True)


def expected_ping(src: VmSpec, dst: VmSpec) -> bool:
    """Pings pass, except between a2 and tenant B (the ICMP rule drops a2's packets in B)."""
    a2_in = BLOCKED_SRC in (src.name, dst.name)
    other = dst if src.name == BLOCKED_SRC else src
    return not (a2_in and other.tenant == "B")


def run(args: argparse.Namespace) -> int:
    """The demo; returns the exit code."""
    if os.geteuid() != 0:
        say("meshd demo: needs root (network namespaces)")
        return 2
    for tool in ("ip", "ping"):
        if shutil.which(tool) is None:
            say(f"meshd demo: {tool} is missing (scripts/setup-system.sh netns)")
            return 2
    prefix: str = args.prefix
    stale = cleanup_prefix(prefix)
    if stale:
        say(f"removed {stale} stale namespaces of an earlier demo")
    old = {s: signal.signal(s, _on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    workdir = Path(tempfile.mkdtemp(prefix="vnetmesh-demo-"))
    lab = Lab(prefix, workdir, subnet=77)
    failures: list[str] = []
    try:
        _demo(lab, args.datapath, failures)
    except Interrupted as e:
        say(f"\ninterrupted ({e}); cleaning up")
        return 130
    except (LabError, OSError) as e:
        say(f"\ndemo failed: {e}")
        for host in lab.hosts.values():
            say(f"--- meshd {host.name} log tail ---\n{lab.log_tail(host)}")
        return 1
    finally:
        if args.keep and not lab.closed:
            say(f"--keep: namespaces {prefix}-* left up; the next meshd demo removes them")
        else:
            # a second signal during cleanup must not leave namespaces behind
            for s in old:
                signal.signal(s, signal.SIG_IGN)
            lab.close()
            shutil.rmtree(workdir, ignore_errors=True)
            for s, h in old.items():
                signal.signal(s, h)
    if failures:
        say(f"\nFAILED: {len(failures)} expectation(s) not met:")
        for f in failures:
            say(f"  - {f}")
        return 1
    say("\nOK: everything allowed passed and everything forbidden was blocked")
    return 0


def _demo(lab: Lab, datapath: str, failures: list[str]) -> None:
    t0 = time.monotonic()
    say(f"== 1. three hosts as namespaces ({lab.prefix}-h1..h3) on underlay {lab.ul}")
    lab.create_underlay()
    hosts = [lab.add_host(f"h{i}") for i in (1, 2, 3)]
    for i, host in enumerate(hosts):
        lab.start_meshd(host, hosts[0] if i else None, datapath)
        lab.wait_ready(host)
    wait(lambda: len(lab.api(hosts[0], "GET", "/v1/agent")["underlay"]) == 3, 90, "membership")
    for host in hosts:
        info = lab.api(host, "GET", "/v1/agent")
        say(f"   meshd {host.name}: underlay {host.underlay}, datapath {info['backend']}")

    say("== 2. topology through h1's API: router r1, bridges netA 10.0.1.0/24, netB 10.0.2.0/24")
    net = scenario.build(lab, hosts[0], SPECS)
    for s in SPECS:
        say(f"   VM {s.name}: tenant {s.tenant}, {s.ip}, on {s.host} ({net.vms[s.name].interface})")
    scenario.drop_rule(lab, hosts[0], net, "B", proto="icmp", ip_src=f"{_spec(BLOCKED_SRC).ip}/32")
    scenario.drop_rule(lab, hosts[0], net, "B", proto="tcp", dst_port=[TELNET, TELNET])
    say(f"   rules on netB inbound: drop ICMP from {BLOCKED_SRC}; drop TCP to port {TELNET}")
    per_host = {h.name: sum(1 for s in SPECS if s.host == h.name) for h in hosts}
    for host in hosts:
        wait(_bound(lab, host, per_host[host.name]), 90, f"{host.name} to bind its ports")
    say("   replicated to every agent; each bound its VMs' interfaces")

    say("== 3. reachability matrix (real pings; row pings column)")
    _matrix(lab, net, failures)

    say("== 4. TCP (Python socket server in the VM namespace)")
    a1, b2 = net.vms["a1"], net.vms["b2"]
    ok = tcp_transfer(lab, b2, a1, port=5001, size=500_000)
    say(f"   a1 -> b2:5001  500 kB  {'transferred' if ok else 'FAILED'}   (expected: transferred)")
    if not ok:
        failures.append("TCP a1 -> b2:5001 did not transfer")
    ok = tcp_transfer(lab, b2, a1, port=TELNET, size=1000, attempts=1, connect_timeout=3)
    verdict = "transferred" if ok else "blocked"
    say(f"   a1 -> b2:{TELNET}    1 kB    {verdict}   (expected: blocked)")
    if ok:
        failures.append(f"TCP a1 -> b2:{TELNET} was not blocked")

    say("== 5. flows installed on each host (GET /v1/flows)")
    for host in hosts:
        flows: list[dict[str, Any]] = lab.api(host, "GET", "/v1/flows")
        say(f"   {host.name}: {len(flows)} flows")
        for f in sorted(flows, key=lambda f: -int(f["packets"]))[:8]:
            say(f"     pkts={f['packets']:<4} {f['match']}")
            say(f"              -> {f['actions']}")
        if len(flows) > 8:
            say(f"     ... {len(flows) - 8} more")
        counters = lab.api(host, "GET", "/v1/agent")["counters"]
        keys = ("upcalls", "simulations", "flows_installed", "flows_invalidated", "generated_sent")
        say("     " + ", ".join(f"{k}={counters.get(k, 0)}" for k in keys))

    say(f"== 6. trace of one packet: a1 -> b2 TCP port {TELNET} (POST /v1/trace)")
    trace = lab.api(
        hosts[0],
        "POST",
        "/v1/trace",
        {
            "ingress_port": net["a1"],
            "packet": {
                "eth_src": _spec("a1").mac,
                "eth_dst": _router_mac(lab, hosts[0], net),
                "ip_src": _spec("a1").ip,
                "ip_dst": _spec("b2").ip,
                "proto": "tcp",
                "ttl": 64,
                "src_port": 40000,
                "dst_port": TELNET,
            },
        },
    )
    for hop in trace.get("hops", []):
        rule = f" rule={hop['rule'][:8]}" if hop.get("rule") else ""
        reason = f" ({hop['reason']})" if hop.get("reason") else ""
        say(f"   {hop['kind']:<7} {_name(net, hop['device']):<12} {hop['action']}{rule}{reason}")
    say(f"   decision: {trace.get('decision')} {trace.get('reason') or ''}")
    if trace.get("decision") != "drop":
        failures.append("the trace of the forbidden packet did not end in a drop")
    say(f"   (demo ran {time.monotonic() - t0:.1f} s)")


def _matrix(lab: Lab, net: Network, failures: list[str]) -> None:
    names = [s.name for s in SPECS]
    results: dict[tuple[str, str], bool] = {}
    # warm up ARP and flows once per pair, then judge with a real ping
    for src, dst in itertools.permutations(SPECS, 2):
        vm = net.vms[src.name]
        got = lab.ping(vm, dst.ip, count=3 if expected_ping(src, dst) else 2, wait_s=1)
        results[(src.name, dst.name)] = got
        if got != expected_ping(src, dst):
            want = "pass" if expected_ping(src, dst) else "be blocked"
            failures.append(f"ping {src.name} -> {dst.name} should {want}")
    say("          " + "".join(f"{n:>8}" for n in names))
    for src in SPECS:
        cells = []
        for dst in SPECS:
            if src is dst:
                cells.append(f"{'-':>8}")
                continue
            got = results[(src.name, dst.name)]
            mark = "ok" if got else "blocked"
            if got != expected_ping(src, dst):
                mark += "!"
            cells.append(f"{mark:>8}")
        say(f"   {src.name} ({src.tenant}) " + "".join(cells))
    say("   (blocked = no echo reply; '!' = not what the rules say)")


def _bound(lab: Lab, host: Host, n: int) -> Callable[[], bool]:
    return lambda: len(lab.api(host, "GET", "/v1/agent")["bindings"]) == n


def _spec(name: str) -> VmSpec:
    return next(s for s in SPECS if s.name == name)


def _router_mac(lab: Lab, host: Any, net: Network) -> str:
    port = lab.api(host, "GET", f"/v1/ports/{net['router-A']}")
    return str(port["mac"])


def _name(net: Network, oid: str) -> str:
    for name, value in net.ids.items():
        if value == oid:
            return name
    return oid[:8]


def main() -> int:
    """Run the demo directly (python -m services.demo.main)."""
    parser = argparse.ArgumentParser(prog="meshd demo")
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--datapath", default="userspace")
    parser.add_argument("--prefix", default="vnmdemo")
    return run(parser.parse_args())


if __name__ == "__main__":
    sys.exit(main())
