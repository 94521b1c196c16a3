"""nftables rules that a nemesis puts in a host namespace: drop everything to and from the
underlay addresses of cut-off peers (partitions), and drop a share of the underlay packets
arriving at the host at random with `numgen` (this kernel has no netem). One table, replaced
atomically."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

TABLE = "vnmchaos"
UPLINK = "ul0"


def ruleset(blocked: Sequence[str] = (), loss_percent: int = 0) -> str:
    """The nft script for one host: `blocked` peer addresses, `loss_percent` random drop."""
    lines = [f"add table inet {TABLE}", f"delete table inet {TABLE}", f"table inet {TABLE} {{"]
    for chain, hook, direction, iface in (
        ("input", "input", "saddr", "iifname"),
        ("output", "output", "daddr", "oifname"),
    ):
        lines.append(f"  chain {chain} {{")
        lines.append(f"    type filter hook {hook} priority -10; policy accept;")
        if blocked:
            peers = ", ".join(sorted(blocked))
            lines.append(f'    {iface} "{UPLINK}" ip {direction} {{ {peers} }} counter drop')
        if loss_percent > 0 and chain == "input":  # each packet arriving is lost with p
            lines.append(
                f'    {iface} "{UPLINK}" numgen random mod 100 < {int(loss_percent)} counter drop'
            )
        lines.append("  }")
    lines.append("}")
    return "\n".join(lines) + "\n"


def clear() -> str:
    """The nft script that removes our table (whether or not it exists)."""
    return f"add table inet {TABLE}\ndelete table inet {TABLE}\n"


class NftError(RuntimeError):
    """nft refused a ruleset."""


async def apply(ns: str, script: str) -> None:
    """Load `script` with `nft -f -` inside namespace `ns`."""
    proc = await asyncio.create_subprocess_exec(
        "ip", "netns", "exec", ns, "nft", "-f", "-",
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, err = await proc.communicate(script.encode())
    if proc.returncode != 0:
        raise NftError(f"nft in {ns}: {err.decode(errors='replace').strip()}")


async def listing(ns: str) -> str:
    """`nft list ruleset` in a namespace (for tests and diagnostics)."""
    proc = await asyncio.create_subprocess_exec(
        "ip", "netns", "exec", ns, "nft", "list", "ruleset",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, _ = await proc.communicate()
    return out.decode(errors="replace")
