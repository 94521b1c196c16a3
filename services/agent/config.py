"""The agent extension's configuration: the ``[extensions.agent]`` keys, each with its
default and why (``meshd run --datapath`` lands in ``datapath``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from services.agent.packet_path import PathConfig

_PATH = PathConfig()


@dataclass(frozen=True, slots=True)
class AgentConfig:
    """What ``[extensions.agent]`` may set."""

    datapath: str = "auto"  # auto: the kernel datapath where openvswitch is there, else userspace
    datapath_name: str = "vnm0"  # two meshd in one netns on a kernel-OVS host need two names
    max_flows: int = _PATH.max_flows  # cap on installed flows; the soonest-expiring go first
    upcall_queue: int = _PATH.queue_size  # upcalls waiting for the worker; beyond: dropped
    vxlan_port: int = _PATH.vxlan_port  # UDP port of the tunnel port (IANA's VXLAN port)
    # how often learned MAC entries that went stale (port gone or moved, learner DEAD or
    # LEFT) are deleted; a stale entry only costs a flood until then (seconds)
    mac_prune_interval: float = 10.0

    def path(self) -> PathConfig:
        """The packet path's part."""
        return PathConfig(
            max_flows=self.max_flows, queue_size=self.upcall_queue, vxlan_port=self.vxlan_port
        )


def _int(cfg: Mapping[str, object], key: str, default: int) -> int:
    value = cfg.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValueError(f"[extensions.agent] {key}: expected an integer, got {value!r}")
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"[extensions.agent] {key}: expected an integer, got {value!r}") from None


def _float(cfg: Mapping[str, object], key: str, default: float) -> float:
    value = cfg.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError(f"[extensions.agent] {key}: expected a number, got {value!r}")
    try:
        return float(value)
    except ValueError:
        raise ValueError(f"[extensions.agent] {key}: expected a number, got {value!r}") from None


def agent_config(cfg: Mapping[str, object]) -> AgentConfig:
    """Read ``[extensions.agent]`` (unknown keys are left to meshd); a bad value is a
    ValueError naming the key."""
    d = AgentConfig()
    return AgentConfig(
        datapath=str(cfg.get("datapath", d.datapath)),
        datapath_name=str(cfg.get("datapath_name", d.datapath_name)),
        max_flows=_int(cfg, "max_flows", d.max_flows),
        upcall_queue=_int(cfg, "upcall_queue", d.upcall_queue),
        vxlan_port=_int(cfg, "vxlan_port", d.vxlan_port),
        mac_prune_interval=_float(cfg, "mac_prune_interval", d.mac_prune_interval),
    )
