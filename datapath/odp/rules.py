"""The kernel's rules for megaflow masks (net/openvswitch/flow_netlink.c), applied up front.

- IN_PORT and ETHERTYPE are exact if masked at all.
- A mask on IPv4/IPv6/ARP needs the ethertype matched exactly; a mask on an L4 header or on
  TCP flags needs the IP protocol matched exactly (else "Unexpected mask").
- A VLAN match always carries the tag-present bit, and the kernel ignores an all-zero ENCAP
  mask, so a key with a VLAN tag matches its inner ethertype exactly.
Widening a mask this way only makes the match stricter where the caller already implied it
(an L4 port match implies the protocol), so it never changes which packets a flow means.
"""

from __future__ import annotations

import dataclasses
import errno

from datapath.api import DatapathError
from datapath.flow.key import FlowKey, Ipv4Key, Ipv6Key
from datapath.flow.mask import FlowMask


class KernelRuleError(DatapathError):
    """A match or action list the kernel datapath cannot express."""

    def __init__(self, message: str) -> None:
        super().__init__(message, errno.EINVAL)


def normalize_mask(key: FlowKey, mask: FlowMask) -> FlowMask:
    """The mask the kernel will accept for ``key`` (see the module docstring)."""
    changes: dict[str, object] = {}
    if mask.in_port:
        changes["in_port"] = 0xFFFFFFFF
    l4 = any(h is not None for h in (mask.tcp, mask.udp, mask.icmp, mask.icmpv6))
    l4 = l4 or bool(mask.tcp_flags)
    l3 = any(h is not None for h in (mask.ipv4, mask.ipv6, mask.arp))
    if mask.eth_type or l3 or l4 or key.vlan is not None:
        changes["eth_type"] = 0xFFFF
    if mask.vlan is not None:
        changes["vlan"] = dataclasses.replace(mask.vlan, tci=mask.vlan.tci | 0x1000)
    if l4:
        if key.ipv6 is not None:
            v6 = mask.ipv6 or Ipv6Key()
            changes["ipv6"] = dataclasses.replace(v6, proto=0xFF)
        elif key.ipv4 is not None:
            v4 = mask.ipv4 or Ipv4Key()
            changes["ipv4"] = dataclasses.replace(v4, proto=0xFF)
        else:
            raise KernelRuleError("an L4 match needs an IPv4 or IPv6 key")
    if mask.tcp_flags and key.tcp is None:
        raise KernelRuleError("a TCP flags match needs a TCP key")
    return dataclasses.replace(mask, **changes) if changes else mask  # type: ignore[arg-type]
