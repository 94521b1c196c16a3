"""One OVS generic netlink family on a pyroute2 AsyncGenericNetlinkSocket: requests, dumps,
kernel errors turned into DatapathError, and malformed replies counted and logged."""

from __future__ import annotations

import errno
import logging
import socket
from collections.abc import Mapping, Sequence

from pyroute2.netlink.exceptions import NetlinkError
from pyroute2.netlink.generic import AsyncGenericNetlinkSocket

from datapath.api import DatapathError
from datapath.netns import in_netns
from datapath.odp.nlmsg import GenlSocket, NlMsg, field
from datapath.odp.wire import NETLINK_GENERIC, NLM_F_ACK, NLM_F_DUMP, NLM_F_ECHO, NLM_F_REQUEST

log = logging.getLogger(__name__)


def _code(exc: NetlinkError) -> int:
    """The errno of a pyroute2 NetlinkError."""
    code: int = exc.code
    return code


class Family:
    """A bound socket for one family (ovs_datapath, ovs_vport, ovs_flow or ovs_packet)."""

    def __init__(self, name: str, msg_class: type, version: int) -> None:
        self.name = name
        self.msg_class = msg_class
        self.version = version
        self.sock: GenlSocket | None = None
        self.bad_replies = 0

    async def open(self, netns: str | None) -> None:
        with in_netns(netns):
            raw = socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, NETLINK_GENERIC)
        sock: GenlSocket = AsyncGenericNetlinkSocket(use_socket=raw)
        try:
            await sock.bind(self.name, self.msg_class)
        except NetlinkError as exc:
            sock.close()
            code = _code(exc)
            if code == errno.ENOENT:
                raise DatapathError(
                    f"generic netlink family {self.name} not found: is openvswitch.ko loaded?",
                    code,
                ) from exc
            raise DatapathError(f"cannot resolve {self.name}: {exc}", code) from exc
        self.sock = sock

    def _bound(self) -> GenlSocket:
        if self.sock is None:
            raise DatapathError(f"{self.name} is not open", errno.ENOTCONN)
        return self.sock

    @property
    def family_id(self) -> int:
        return int(self._bound().prid)

    @property
    def mcast_groups(self) -> dict[str, int]:
        return dict(self._bound().mcast_groups)

    def message(self, cmd: int, dp_ifindex: int, attrs: Sequence[Sequence[object]]) -> NlMsg:
        msg: NlMsg = self.msg_class()
        msg["cmd"] = cmd
        msg["version"] = self.version
        msg["reserved"] = 0
        msg["dp_ifindex"] = dp_ifindex
        msg["attrs"] = attrs
        return msg

    async def request(
        self,
        cmd: int,
        dp_ifindex: int,
        attrs: Sequence[Sequence[object]],
        flags: int = 0,
        dump: bool = False,
    ) -> list[NlMsg]:
        """Send one request; return the reply messages (reply command values not checked).

        NEW/DEL/SET answer through the family's notification, which reaches the requester only
        with NLM_F_ECHO; the final ACK (an NLMSG_ERROR of 0) is not a reply and is dropped."""
        msg = self.message(cmd, dp_ifindex, attrs)
        msg_flags = NLM_F_REQUEST | (NLM_F_DUMP if dump else NLM_F_ACK | NLM_F_ECHO) | flags
        sock = self._bound()
        try:
            replies = [
                m
                async for m in await sock.nlm_request(
                    msg, msg_type=self.family_id, msg_flags=msg_flags
                )
            ]
        except NetlinkError as exc:
            raise DatapathError(f"{self.name} cmd {cmd}: {exc}", _code(exc)) from exc
        except (ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
            # pyroute2 could not parse what came back
            self.bad_replies += 1
            log.warning("%s: malformed reply to cmd %d: %s", self.name, cmd, exc)
            raise DatapathError(f"{self.name}: malformed reply: {exc}") from exc
        family_id = self.family_id
        return [m for m in replies if _msg_type(m) == family_id]

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None


def _msg_type(msg: NlMsg) -> object:
    """The nlmsghdr type of a reply (None if pyroute2 gave it no header)."""
    header = field(msg, "header")
    return header.get("type") if isinstance(header, Mapping) else None
