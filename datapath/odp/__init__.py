"""Kernel backend: the Open vSwitch datapath over generic netlink (ovs_* families)."""

from datapath.odp.datapath import KernelDatapath

__all__ = ["KernelDatapath"]
