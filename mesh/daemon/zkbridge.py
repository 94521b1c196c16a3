"""ZooKeeper mode: membership comes from ZooKeeper ephemeral nodes (mesh.zk), fed to the node
with MeshNode.set_external_members; gossip still carries the replicated tables."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from mesh.member import MemberMeta
from mesh.transport.address import AddressError, format_address, parse_address

log = logging.getLogger("mesh.daemon.zk")


def meta_to_dict(meta: MemberMeta) -> dict[str, Any]:
    """What this host registers in its ZooKeeper member node."""
    return {
        "gossip": format_address(meta.gossip),
        "underlay": meta.underlay,
        "api": format_address(meta.api) if meta.api is not None else None,
    }


def dict_to_meta(host_id: str, data: Mapping[str, Any]) -> MemberMeta | None:
    """A member node's data back to MemberMeta (None, logged, if malformed)."""
    try:
        gossip = parse_address(str(data["gossip"]))
        api_text = data.get("api")
        api = parse_address(str(api_text)) if api_text else None
        underlay = str(data.get("underlay") or gossip[0])
    except (KeyError, AddressError, TypeError) as exc:
        log.warning(
            "ignoring malformed ZooKeeper member",
            extra={"fields": {"member": host_id, "error": str(exc)}},
        )
        return None
    return MemberMeta(host_id=host_id, gossip=gossip, underlay=underlay, api=api)


class ZkBridge:
    """Keeps node.set_external_members() in step with the ZooKeeper member set."""

    def __init__(
        self,
        hosts: str,
        root: str,
        meta: MemberMeta,
        apply: Callable[[list[MemberMeta]], None],
    ) -> None:
        from mesh.zk.async_membership import AsyncZkMembership

        self._zk = AsyncZkMembership(hosts, meta.host_id, meta_to_dict(meta), root=root)
        self._apply = apply
        self._unsubscribe: Callable[[], None] | None = None

    async def start(self) -> None:
        """Connect and register (raises mesh.zk.errors.ZkError when ZooKeeper is unreachable)."""
        await self._zk.start()
        self._unsubscribe = self._zk.on_change(self._changed)
        self._changed(self._zk.members())

    def _changed(self, members: Mapping[str, Mapping[str, Any]]) -> None:
        metas = [m for hid, d in sorted(members.items()) if (m := dict_to_meta(hid, d))]
        self._apply(metas)

    async def stop(self) -> None:
        """Unregister (our ephemeral node goes away: a graceful leave) and disconnect."""
        if self._unsubscribe is not None:
            self._unsubscribe()
        await self._zk.stop()
