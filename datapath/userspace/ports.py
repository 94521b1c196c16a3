"""Userspace datapath ports: AF_PACKET on an existing interface, TAP for internal ports, and a
UDP socket speaking VXLAN (RFC 7348) for flow-based tunnels. Non-blocking; the datapath reads
them from the event loop."""

from __future__ import annotations

import fcntl
import os
import socket
import struct
from typing import cast

from datapath.api import PortInfo, PortStats, PortType
from datapath.flow.addr import ip4_str
from datapath.flow.key import TunnelKey
from datapath.packet import vxlan
from datapath.userspace.execute import complete_checksum

ETH_P_ALL = 0x0003
SOL_PACKET = 263
PACKET_AUXDATA = 8
PACKET_IGNORE_OUTGOING = 23
PACKET_OUTGOING = 4
TP_STATUS_CSUMNOTREADY = 0x08
TP_STATUS_VLAN_VALID = 0x10
TP_STATUS_VLAN_TPID_VALID = 0x40
_AUX = struct.Struct("=IIIHHHH")
_AuxData = tuple[int, int, int, int, int, int, int]
"""struct tpacket_auxdata: status, len, snaplen, mac, net, vlan_tci, vlan_tpid."""
_AUX_SPACE = socket.CMSG_SPACE(_AUX.size)

TUNSETIFF = 0x400454CA
IFF_TAP = 0x0002
IFF_NO_PI = 0x1000

IP_PKTINFO = 8
IP_RECVTTL = 12
IP_RECVTOS = 13
IP_TTL_CMSG = 2
IP_TOS_CMSG = 1
IP_MTU_DISCOVER = 10
IP_PMTUDISC_DONT = 0
_PKTINFO = struct.Struct("=I4s4s")
_UDP_ANC = socket.CMSG_SPACE(_PKTINFO.size) + 2 * socket.CMSG_SPACE(4)

BUFSIZE = 65536
Received = tuple[bytes, tuple[int, ...] | None]


class Port:
    """A port: a non-blocking file descriptor, counters, receive and send."""

    type: PortType = PortType.NETDEV

    def __init__(self, port_no: int, name: str) -> None:
        self.port_no = port_no
        self.name = name
        self.rx_packets = self.tx_packets = self.rx_bytes = self.tx_bytes = 0
        self.rx_dropped = self.tx_dropped = 0

    def fileno(self) -> int:
        raise NotImplementedError

    def receive(self, budget: int) -> list[Received]:
        """Up to ``budget`` frames (with flat tunnel metadata for tunnel ports)."""
        raise NotImplementedError

    def send(self, frame: bytes, tunnel: TunnelKey | None) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def info(self) -> PortInfo:
        stats = PortStats(
            self.rx_packets,
            self.tx_packets,
            self.rx_bytes,
            self.tx_bytes,
            self.rx_dropped,
            self.tx_dropped,
        )
        return PortInfo(self.port_no, self.name, self.type, stats, getattr(self, "dst_port", None))


class NetdevPort(Port):
    """An existing interface through an AF_PACKET socket (checksums completed, VLAN restored)."""

    type = PortType.NETDEV

    def __init__(self, port_no: int, name: str) -> None:
        super().__init__(port_no, name)
        sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        try:
            sock.bind((name, ETH_P_ALL))
            try:
                sock.setsockopt(SOL_PACKET, PACKET_IGNORE_OUTGOING, 1)
                self._filter_outgoing = False
            except OSError:
                self._filter_outgoing = True
            sock.setsockopt(SOL_PACKET, PACKET_AUXDATA, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
            sock.setblocking(False)
        except OSError:
            sock.close()
            raise
        self.sock = sock

    def fileno(self) -> int:
        return self.sock.fileno()

    def receive(self, budget: int) -> list[Received]:
        out: list[Received] = []
        recvmsg = self.sock.recvmsg
        for _ in range(budget):
            try:
                data, anc, _flags, addr = recvmsg(BUFSIZE, _AUX_SPACE)
            except (BlockingIOError, InterruptedError):
                break
            if self._filter_outgoing and addr[2] == PACKET_OUTGOING:
                continue
            for level, kind, value in anc:
                if level == SOL_PACKET and kind == PACKET_AUXDATA and len(value) >= _AUX.size:
                    status, _l, _s, _m, _n, tci, tpid = cast(_AuxData, _AUX.unpack_from(value))
                    if status & TP_STATUS_VLAN_VALID:
                        if not status & TP_STATUS_VLAN_TPID_VALID:
                            tpid = 0x8100
                        data = data[:12] + struct.pack("!HH", tpid, tci) + data[12:]
                    if status & TP_STATUS_CSUMNOTREADY:
                        buf = bytearray(data)
                        complete_checksum(buf)
                        data = bytes(buf)
            self.rx_packets += 1
            self.rx_bytes += len(data)
            out.append((data, None))
        return out

    def send(self, frame: bytes, tunnel: TunnelKey | None) -> None:
        try:
            self.sock.send(frame)
            self.tx_packets += 1
            self.tx_bytes += len(frame)
        except OSError:
            self.tx_dropped += 1

    def close(self) -> None:
        self.sock.close()


class TapPort(Port):
    """An internal port: a TAP interface the datapath creates for the local stack."""

    type = PortType.INTERNAL

    def __init__(self, port_no: int, name: str) -> None:
        super().__init__(port_no, name)
        fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
        try:
            ifr = struct.pack("16sH", name.encode(), IFF_TAP | IFF_NO_PI)
            fcntl.ioctl(fd, TUNSETIFF, ifr)
        except OSError:
            os.close(fd)
            raise
        self.fd = fd

    def fileno(self) -> int:
        return self.fd

    def receive(self, budget: int) -> list[Received]:
        out: list[Received] = []
        for _ in range(budget):
            try:
                data = os.read(self.fd, BUFSIZE)
            except (BlockingIOError, InterruptedError):
                break
            self.rx_packets += 1
            self.rx_bytes += len(data)
            out.append((data, None))
        return out

    def send(self, frame: bytes, tunnel: TunnelKey | None) -> None:
        try:
            os.write(self.fd, frame)
            self.tx_packets += 1
            self.tx_bytes += len(frame)
        except OSError:
            self.tx_dropped += 1

    def close(self) -> None:
        os.close(self.fd)


class VxlanPort(Port):
    """A flow-based VXLAN tunnel: UDP on ``dst_port``; id and peer come from set(tunnel)."""

    type = PortType.VXLAN

    def __init__(self, port_no: int, name: str, dst_port: int = vxlan.VXLAN_PORT) -> None:
        super().__init__(port_no, name)
        self.dst_port = dst_port
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.setsockopt(socket.IPPROTO_IP, IP_PKTINFO, 1)
            sock.setsockopt(socket.IPPROTO_IP, IP_RECVTTL, 1)
            sock.setsockopt(socket.IPPROTO_IP, IP_RECVTOS, 1)
            sock.setsockopt(socket.IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DONT)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
            sock.bind(("0.0.0.0", dst_port))
            sock.setblocking(False)
        except OSError:
            sock.close()
            raise
        self.sock = sock
        self._ttl = 0
        self._tos = 0
        self._addr: dict[tuple[int, int], tuple[str, int]] = {}
        self.bad = 0  # datagrams that were not VXLAN

    def fileno(self) -> int:
        return self.sock.fileno()

    def receive(self, budget: int) -> list[Received]:
        out: list[Received] = []
        recvmsg = self.sock.recvmsg
        for _ in range(budget):
            try:
                data, anc, _flags, addr = recvmsg(BUFSIZE, _UDP_ANC)
            except (BlockingIOError, InterruptedError):
                break
            try:
                vni, frame = vxlan.decap(data)
            except vxlan.VxlanError:
                self.bad += 1
                self.rx_dropped += 1
                continue
            local = ttl = tos = 0
            for level, kind, value in anc:
                if level != socket.IPPROTO_IP:
                    continue
                if kind == IP_PKTINFO:
                    local = int.from_bytes(cast(bytes, _PKTINFO.unpack_from(value)[2]), "big")
                elif kind == IP_TTL_CMSG:
                    ttl = int.from_bytes(value[:4], "little")
                elif kind == IP_TOS_CMSG:
                    tos = value[0]
            src = int.from_bytes(socket.inet_aton(addr[0]), "big")
            self.rx_packets += 1
            self.rx_bytes += len(frame)
            out.append((bytes(frame), (vni, src, local, tos, ttl, addr[1], self.dst_port, 0)))
        return out

    def send(self, frame: bytes, tunnel: TunnelKey | None) -> None:
        if tunnel is None or not tunnel.ipv4_dst:
            self.tx_dropped += 1  # output to a tunnel without set(tunnel)
            return
        try:
            if tunnel.ttl and tunnel.ttl != self._ttl:
                self.sock.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, tunnel.ttl)
                self._ttl = tunnel.ttl
            if tunnel.tos != self._tos:
                self.sock.setsockopt(socket.IPPROTO_IP, socket.IP_TOS, tunnel.tos)
                self._tos = tunnel.tos
            where = (tunnel.ipv4_dst, tunnel.tp_dst)
            addr = self._addr.get(where)
            if addr is None:
                if len(self._addr) > 4096:
                    self._addr.clear()
                addr = self._addr[where] = (ip4_str(where[0]), where[1] or self.dst_port)
            self.sock.sendto(vxlan.encap(tunnel.tun_id, frame), addr)
            self.tx_packets += 1
            self.tx_bytes += len(frame)
        except OSError:
            self.tx_dropped += 1

    def close(self) -> None:
        self.sock.close()
