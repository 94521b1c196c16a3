"""Userspace datapath backend: AF_PACKET/TAP ports, tuple-space flow table, VXLAN over UDP."""

from datapath.userspace.datapath import UserspaceDatapath

__all__ = ["UserspaceDatapath"]
