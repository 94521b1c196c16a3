# mypy: disable-error-code="misc"
"""The OVS generic netlink families, declared as pyroute2 message classes and attribute tables.

Names follow the kernel header include/uapi/linux/openvswitch.h. Encoding and decoding both
come from these tables; converting them to and from our flow values is datapath.odp.convert.
"""

from __future__ import annotations

from typing import Any

from pyroute2.netlink import genlmsg, nla

# Families and versions
OVS_DATAPATH_FAMILY = "ovs_datapath"
OVS_VPORT_FAMILY = "ovs_vport"
OVS_FLOW_FAMILY = "ovs_flow"
OVS_PACKET_FAMILY = "ovs_packet"
OVS_DATAPATH_VERSION = 2
OVS_VPORT_VERSION = 1
OVS_FLOW_VERSION = 1
OVS_PACKET_VERSION = 1
OVS_VPORT_MCGROUP = "ovs_vport"

# Commands (the same numbers for the datapath, vport and flow families)
OVS_CMD_NEW = 1
OVS_CMD_DEL = 2
OVS_CMD_GET = 3
OVS_CMD_SET = 4
OVS_PACKET_CMD_MISS = 1
OVS_PACKET_CMD_ACTION = 2
OVS_PACKET_CMD_EXECUTE = 3

# Datapath user features
OVS_DP_F_UNALIGNED = 1 << 0
OVS_DP_F_VPORT_PIDS = 1 << 1
OVS_DP_F_TC_RECIRC_SHARING = 1 << 2
OVS_DP_F_DISPATCH_UPCALL_PER_CPU = 1 << 3

# Vport types
OVS_VPORT_TYPE_NETDEV = 1
OVS_VPORT_TYPE_INTERNAL = 2
OVS_VPORT_TYPE_GRE = 3
OVS_VPORT_TYPE_VXLAN = 4
OVS_VPORT_TYPE_GENEVE = 5

OVSP_LOCAL = 0

# OVS_FLOW_ATTR_UFID_FLAGS
OVS_UFID_F_OMIT_KEY = 1 << 0
OVS_UFID_F_OMIT_MASK = 1 << 1
OVS_UFID_F_OMIT_ACTIONS = 1 << 2

OVS_FRAG_TYPE_NONE = 0
OVS_FRAG_TYPE_FIRST = 1
OVS_FRAG_TYPE_LATER = 2


class ovs_header(genlmsg):
    """genlmsghdr followed by struct ovs_header { int dp_ifindex; }."""

    fields = (*genlmsg.fields, ("dp_ifindex", "i"))


class ovs_tunnel_key(nla):
    """OVS_TUNNEL_KEY_ATTR_*: note ID is attribute 0, there is no unspec entry."""

    nla_map = (
        (0, "OVS_TUNNEL_KEY_ATTR_ID", "be64"),
        (1, "OVS_TUNNEL_KEY_ATTR_IPV4_SRC", "be32"),
        (2, "OVS_TUNNEL_KEY_ATTR_IPV4_DST", "be32"),
        (3, "OVS_TUNNEL_KEY_ATTR_TOS", "uint8"),
        (4, "OVS_TUNNEL_KEY_ATTR_TTL", "uint8"),
        (5, "OVS_TUNNEL_KEY_ATTR_DONT_FRAGMENT", "flag"),
        (6, "OVS_TUNNEL_KEY_ATTR_CSUM", "flag"),
        (7, "OVS_TUNNEL_KEY_ATTR_OAM", "flag"),
        (8, "OVS_TUNNEL_KEY_ATTR_GENEVE_OPTS", "cdata"),
        (9, "OVS_TUNNEL_KEY_ATTR_TP_SRC", "be16"),
        (10, "OVS_TUNNEL_KEY_ATTR_TP_DST", "be16"),
        (11, "OVS_TUNNEL_KEY_ATTR_VXLAN_OPTS", "cdata"),
        (12, "OVS_TUNNEL_KEY_ATTR_IPV6_SRC", "cdata"),
        (13, "OVS_TUNNEL_KEY_ATTR_IPV6_DST", "cdata"),
        (14, "OVS_TUNNEL_KEY_ATTR_PAD", "cdata"),
        (15, "OVS_TUNNEL_KEY_ATTR_ERSPAN_OPTS", "cdata"),
        (16, "OVS_TUNNEL_KEY_ATTR_IPV4_INFO_BRIDGE", "flag"),
    )


# The packed structs of openvswitch.h, as (field, struct format) lists.
KEY_STRUCTS: dict[str, tuple[tuple[str, str], ...]] = {
    "ovs_key_ethernet": (("eth_src", "6s"), ("eth_dst", "6s")),
    "ovs_key_ipv4": (
        ("ipv4_src", ">I"),
        ("ipv4_dst", ">I"),
        ("ipv4_proto", "B"),
        ("ipv4_tos", "B"),
        ("ipv4_ttl", "B"),
        ("ipv4_frag", "B"),
    ),
    "ovs_key_ipv6": (
        ("ipv6_src", "16s"),
        ("ipv6_dst", "16s"),
        ("ipv6_label", ">I"),
        ("ipv6_proto", "B"),
        ("ipv6_tclass", "B"),
        ("ipv6_hlimit", "B"),
        ("ipv6_frag", "B"),
    ),
    "ovs_key_tcp": (("tcp_src", ">H"), ("tcp_dst", ">H")),
    "ovs_key_udp": (("udp_src", ">H"), ("udp_dst", ">H")),
    "ovs_key_icmp": (("icmp_type", "B"), ("icmp_code", "B")),
    "ovs_key_icmpv6": (("icmpv6_type", "B"), ("icmpv6_code", "B")),
    "ovs_key_arp": (
        ("arp_sip", ">I"),
        ("arp_tip", ">I"),
        ("arp_op", ">H"),
        ("arp_sha", "6s"),
        ("arp_tha", "6s"),
        ("__pad", "2x"),  # struct ovs_key_arp is not packed: sizeof is 24
    ),
}


def _struct_nla(name: str, fields: tuple[tuple[str, str], ...]) -> type[nla]:
    return type(name, (nla,), {"fields": fields})


def _masked_nla(name: str, fields: tuple[tuple[str, str], ...]) -> type[nla]:
    """The SET_MASKED form of a key struct: the value, then a mask of the same layout."""
    doubled = fields + tuple((f"{n}_mask", fmt) for n, fmt in fields)
    return type(f"{name}_masked", (nla,), {"fields": doubled})


def _key_map(kind: str) -> tuple[tuple[int, str, str], ...]:
    """The OVS_KEY_ATTR_* table; ``kind`` picks the struct classes ('' or '_masked')."""
    return (
        (1, "OVS_KEY_ATTR_ENCAP", "recursive"),
        (2, "OVS_KEY_ATTR_PRIORITY", "uint32"),
        (3, "OVS_KEY_ATTR_IN_PORT", "uint32"),
        (4, "OVS_KEY_ATTR_ETHERNET", f"ovs_key_ethernet{kind}"),
        (5, "OVS_KEY_ATTR_VLAN", "be16"),
        (6, "OVS_KEY_ATTR_ETHERTYPE", "be16"),
        (7, "OVS_KEY_ATTR_IPV4", f"ovs_key_ipv4{kind}"),
        (8, "OVS_KEY_ATTR_IPV6", f"ovs_key_ipv6{kind}"),
        (9, "OVS_KEY_ATTR_TCP", f"ovs_key_tcp{kind}"),
        (10, "OVS_KEY_ATTR_UDP", f"ovs_key_udp{kind}"),
        (11, "OVS_KEY_ATTR_ICMP", f"ovs_key_icmp{kind}"),
        (12, "OVS_KEY_ATTR_ICMPV6", f"ovs_key_icmpv6{kind}"),
        (13, "OVS_KEY_ATTR_ARP", f"ovs_key_arp{kind}"),
        (14, "OVS_KEY_ATTR_ND", "cdata"),
        (15, "OVS_KEY_ATTR_SKB_MARK", "uint32"),
        (16, "OVS_KEY_ATTR_TUNNEL", "ovs_tunnel_key"),
        (17, "OVS_KEY_ATTR_SCTP", "cdata"),
        (18, "OVS_KEY_ATTR_TCP_FLAGS", "be16"),
        (19, "OVS_KEY_ATTR_DP_HASH", "uint32"),
        (20, "OVS_KEY_ATTR_RECIRC_ID", "uint32"),
        (21, "OVS_KEY_ATTR_MPLS", "cdata"),
        (22, "OVS_KEY_ATTR_CT_STATE", "uint32"),
        (23, "OVS_KEY_ATTR_CT_ZONE", "uint16"),
        (24, "OVS_KEY_ATTR_CT_MARK", "uint32"),
        (25, "OVS_KEY_ATTR_CT_LABELS", "cdata"),
        (26, "OVS_KEY_ATTR_CT_ORIG_TUPLE_IPV4", "cdata"),
        (27, "OVS_KEY_ATTR_CT_ORIG_TUPLE_IPV6", "cdata"),
        (28, "OVS_KEY_ATTR_NSH", "cdata"),
        (32, "OVS_KEY_ATTR_IPV6_EXTHDRS", "cdata"),
    )


def _key_class(name: str, kind: str) -> type[nla]:
    body: dict[str, Any] = {"nla_map": _key_map(kind), "ovs_tunnel_key": ovs_tunnel_key}
    for sname, fields in KEY_STRUCTS.items():
        maker = _masked_nla if kind else _struct_nla
        body[f"{sname}{kind}"] = maker(sname, fields)
    return type(name, (nla,), body)


ovs_key = _key_class("ovs_key", "")  # flow keys, masks and SET payloads
ovs_key_masked = _key_class("ovs_key_masked", "_masked")  # SET_MASKED payloads


class ovs_push_vlan(nla):
    """struct ovs_action_push_vlan."""

    fields = (("vlan_tpid", ">H"), ("vlan_tci", ">H"))


class ovs_userspace(nla):
    """OVS_USERSPACE_ATTR_*."""

    nla_map = (
        (1, "OVS_USERSPACE_ATTR_PID", "uint32"),
        (2, "OVS_USERSPACE_ATTR_USERDATA", "cdata"),
        (3, "OVS_USERSPACE_ATTR_EGRESS_TUN_PORT", "uint32"),
        (4, "OVS_USERSPACE_ATTR_ACTIONS", "flag"),
    )


class ovs_actions(nla):
    """OVS_ACTION_ATTR_*: the subset we emit, the rest decoded as raw bytes."""

    nla_map = (
        (1, "OVS_ACTION_ATTR_OUTPUT", "uint32"),
        (2, "OVS_ACTION_ATTR_USERSPACE", "ovs_userspace"),
        (3, "OVS_ACTION_ATTR_SET", "ovs_key"),
        (4, "OVS_ACTION_ATTR_PUSH_VLAN", "ovs_push_vlan"),
        (5, "OVS_ACTION_ATTR_POP_VLAN", "flag"),
        (6, "OVS_ACTION_ATTR_SAMPLE", "cdata"),
        (7, "OVS_ACTION_ATTR_RECIRC", "uint32"),
        (8, "OVS_ACTION_ATTR_HASH", "cdata"),
        (9, "OVS_ACTION_ATTR_PUSH_MPLS", "cdata"),
        (10, "OVS_ACTION_ATTR_POP_MPLS", "be16"),
        (11, "OVS_ACTION_ATTR_SET_MASKED", "ovs_key_masked"),
        (12, "OVS_ACTION_ATTR_CT", "cdata"),
        (13, "OVS_ACTION_ATTR_TRUNC", "uint32"),
        (14, "OVS_ACTION_ATTR_PUSH_ETH", "cdata"),
        (15, "OVS_ACTION_ATTR_POP_ETH", "flag"),
        (16, "OVS_ACTION_ATTR_CT_CLEAR", "flag"),
        (19, "OVS_ACTION_ATTR_METER", "uint32"),
        (20, "OVS_ACTION_ATTR_CLONE", "cdata"),
        (21, "OVS_ACTION_ATTR_CHECK_PKT_LEN", "cdata"),
        (23, "OVS_ACTION_ATTR_DEC_TTL", "cdata"),
        (24, "OVS_ACTION_ATTR_DROP", "uint32"),
    )
    ovs_key = ovs_key
    ovs_key_masked = ovs_key_masked
    ovs_userspace = ovs_userspace
    ovs_push_vlan = ovs_push_vlan


class ovs_dp_stats(nla):
    """struct ovs_dp_stats."""

    fields = (("n_hit", "Q"), ("n_missed", "Q"), ("n_lost", "Q"), ("n_flows", "Q"))


class ovs_dp_megaflow_stats(nla):
    """struct ovs_dp_megaflow_stats."""

    fields = (
        ("n_mask_hit", "Q"),
        ("n_masks", "I"),
        ("pad0", "I"),
        ("n_cache_hit", "Q"),
        ("pad1", "Q"),
    )


class ovs_dp_msg(ovs_header):
    """ovs_datapath family messages (OVS_DP_ATTR_*)."""

    nla_map = (
        (1, "OVS_DP_ATTR_NAME", "asciiz"),
        (2, "OVS_DP_ATTR_UPCALL_PID", "uint32"),
        (3, "OVS_DP_ATTR_STATS", "ovs_dp_stats"),
        (4, "OVS_DP_ATTR_MEGAFLOW_STATS", "cdata"),
        (5, "OVS_DP_ATTR_USER_FEATURES", "uint32"),
        (6, "OVS_DP_ATTR_PAD", "cdata"),
        (7, "OVS_DP_ATTR_MASKS_CACHE_SIZE", "uint32"),
        (8, "OVS_DP_ATTR_PER_CPU_PIDS", "array(uint32)"),
        (9, "OVS_DP_ATTR_IFINDEX", "uint32"),
    )
    ovs_dp_stats = ovs_dp_stats


class ovs_vport_stats(nla):
    """struct ovs_vport_stats."""

    fields = (
        ("rx_packets", "Q"),
        ("tx_packets", "Q"),
        ("rx_bytes", "Q"),
        ("tx_bytes", "Q"),
        ("rx_errors", "Q"),
        ("tx_errors", "Q"),
        ("rx_dropped", "Q"),
        ("tx_dropped", "Q"),
    )


class ovs_vport_options(nla):
    """OVS_TUNNEL_ATTR_* (tunnel vport options)."""

    nla_map = (
        (1, "OVS_TUNNEL_ATTR_DST_PORT", "uint16"),
        (2, "OVS_TUNNEL_ATTR_EXTENSION", "cdata"),
    )


class ovs_vport_msg(ovs_header):
    """ovs_vport family messages (OVS_VPORT_ATTR_*)."""

    nla_map = (
        (1, "OVS_VPORT_ATTR_PORT_NO", "uint32"),
        (2, "OVS_VPORT_ATTR_TYPE", "uint32"),
        (3, "OVS_VPORT_ATTR_NAME", "asciiz"),
        (4, "OVS_VPORT_ATTR_OPTIONS", "ovs_vport_options"),
        (5, "OVS_VPORT_ATTR_UPCALL_PID", "array(uint32)"),
        (6, "OVS_VPORT_ATTR_STATS", "ovs_vport_stats"),
        (7, "OVS_VPORT_ATTR_PAD", "cdata"),
        (8, "OVS_VPORT_ATTR_IFINDEX", "uint32"),
        (9, "OVS_VPORT_ATTR_NETNSID", "uint32"),
        (10, "OVS_VPORT_ATTR_UPCALL_STATS", "cdata"),
    )
    ovs_vport_options = ovs_vport_options
    ovs_vport_stats = ovs_vport_stats


class ovs_flow_stats(nla):
    """struct ovs_flow_stats."""

    fields = (("n_packets", "Q"), ("n_bytes", "Q"))


class ovs_flow_msg(ovs_header):
    """ovs_flow family messages (OVS_FLOW_ATTR_*)."""

    nla_map = (
        (1, "OVS_FLOW_ATTR_KEY", "ovs_key"),
        (2, "OVS_FLOW_ATTR_ACTIONS", "ovs_actions"),
        (3, "OVS_FLOW_ATTR_STATS", "ovs_flow_stats"),
        (4, "OVS_FLOW_ATTR_TCP_FLAGS", "uint8"),
        (5, "OVS_FLOW_ATTR_USED", "uint64"),
        (6, "OVS_FLOW_ATTR_CLEAR", "flag"),
        (7, "OVS_FLOW_ATTR_MASK", "ovs_key"),
        (8, "OVS_FLOW_ATTR_PROBE", "flag"),
        (9, "OVS_FLOW_ATTR_UFID", "cdata"),
        (10, "OVS_FLOW_ATTR_UFID_FLAGS", "uint32"),
        (11, "OVS_FLOW_ATTR_PAD", "cdata"),
    )
    ovs_key = ovs_key
    ovs_actions = ovs_actions
    ovs_flow_stats = ovs_flow_stats


class ovs_packet_msg(ovs_header):
    """ovs_packet family messages (OVS_PACKET_ATTR_*); PACKET may end unpadded (UNALIGNED)."""

    nla_map = (
        (1, "OVS_PACKET_ATTR_PACKET", "cdata"),
        (2, "OVS_PACKET_ATTR_KEY", "ovs_key"),
        (3, "OVS_PACKET_ATTR_ACTIONS", "ovs_actions"),
        (4, "OVS_PACKET_ATTR_USERDATA", "cdata"),
        (5, "OVS_PACKET_ATTR_EGRESS_TUN_KEY", "ovs_tunnel_key"),
        (6, "OVS_PACKET_ATTR_UNUSED1", "cdata"),
        (7, "OVS_PACKET_ATTR_UNUSED2", "cdata"),
        (8, "OVS_PACKET_ATTR_PROBE", "flag"),
        (9, "OVS_PACKET_ATTR_MRU", "uint16"),
        (10, "OVS_PACKET_ATTR_LEN", "uint32"),
        (11, "OVS_PACKET_ATTR_HASH", "uint64"),
    )
    ovs_key = ovs_key
    ovs_actions = ovs_actions
    ovs_tunnel_key = ovs_tunnel_key
