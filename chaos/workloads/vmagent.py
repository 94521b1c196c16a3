"""Runs inside a VM namespace (``python vmagent.py CONFIG_JSON``): pings its targets, holds a
TCP stream to one of them, serves a TCP echo, counts frames from other tenants (AF_PACKET
listener), sends frames at other tenants' MACs; prints one JSON report a second.

Standalone on purpose (stdlib only, no vnetmesh imports): it starts fast and small in each
VM. Times are time.monotonic() (system-wide, so the runner converts them)."""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import socket
import struct
import sys
import threading
import time
from typing import Any

PING_EVERY = 0.2
PING_TIMEOUT = 1.0
REPORT_EVERY = 1.0
CHUNK = 1024
ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4


def checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return int(~s & 0xFFFF)


class Pinger:
    """ICMP echo to each target every PING_EVERY s; a request is lost after PING_TIMEOUT."""

    def __init__(self, targets: list[str]) -> None:
        self.targets = targets
        self.ident = os.getpid() & 0xFFFF
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
        self.sock.settimeout(0.5)
        self.lock = threading.Lock()
        self.sent: dict[int, tuple[str, float]] = {}  # seq -> (target, send time)
        self.replied: set[int] = set()
        self.seq = 0

    def send_loop(self, stop: threading.Event) -> None:
        while not stop.wait(PING_EVERY):
            for dst in self.targets:
                with self.lock:
                    self.seq = (self.seq + 1) & 0xFFFF
                    seq = self.seq
                    self.sent[seq] = (dst, time.monotonic())
                    self.replied.discard(seq)
                hdr = struct.pack("!BBHHH", 8, 0, 0, self.ident, seq)
                payload = b"vnetmesh-chaos"
                pkt = struct.pack("!BBHHH", 8, 0, checksum(hdr + payload), self.ident, seq)
                with contextlib.suppress(OSError):  # no route (yet): counts as lost
                    self.sock.sendto(pkt + payload, (dst, 0))

    def recv_loop(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                data = self.sock.recv(2048)
            except OSError:
                continue
            ihl = (data[0] & 0x0F) * 4
            if len(data) < ihl + 8:
                continue
            typ, _code, _ck, ident, seq = struct.unpack("!BBHHH", data[ihl : ihl + 8])
            if typ == 0 and ident == self.ident:
                src = socket.inet_ntoa(data[12:16])
                with self.lock:
                    entry = self.sent.get(seq)
                    fresh = entry is not None and time.monotonic() - entry[1] <= PING_TIMEOUT
                    if entry is not None and entry[0] == src and fresh:
                        self.replied.add(seq)

    def harvest(self, cut: float) -> dict[str, list[int]]:
        """Requests sent before `cut` (their timeout passed): target -> [sent, received]."""
        out = {t: [0, 0] for t in self.targets}
        with self.lock:
            for seq, (dst, at) in list(self.sent.items()):
                if at < cut:
                    out[dst][0] += 1
                    if seq in self.replied:
                        out[dst][1] += 1
                    del self.sent[seq]
                    self.replied.discard(seq)
        return out


class Stream:
    """One TCP connection to an echo server: send CHUNK bytes, wait for their echo, repeat."""

    def __init__(self, dst: str, port: int) -> None:
        self.dst, self.port = dst, port
        self.lock = threading.Lock()
        self.bytes = 0
        self.connected = False
        self.connects = 0

    def loop(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                s = socket.create_connection((self.dst, self.port), timeout=1.0)
            except OSError:
                stop.wait(0.5)
                continue
            self.connects += 1
            self.connected = True
            s.settimeout(1.0)
            stalled = time.monotonic()
            try:
                while not stop.is_set():
                    s.sendall(b"x" * CHUNK)
                    got = 0
                    while got < CHUNK and not stop.is_set():
                        try:
                            b = s.recv(CHUNK - got)
                        except TimeoutError:
                            if time.monotonic() - stalled > 30:
                                raise OSError("stalled 30 s") from None
                            continue
                        if not b:
                            raise OSError("closed by peer")
                        got += len(b)
                        with self.lock:
                            self.bytes += len(b)
                    stalled = time.monotonic()
                    stop.wait(0.1)
            except OSError:
                pass
            finally:
                self.connected = False
                s.close()
            stop.wait(0.5)

    def take(self) -> tuple[bool, int]:
        with self.lock:
            n, self.bytes = self.bytes, 0
        return self.connected, n


def echo_server(port: int, stop: threading.Event) -> None:
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("0.0.0.0", port))
    srv.listen(8)
    srv.settimeout(0.5)

    def serve(c: socket.socket) -> None:
        with c:
            while not stop.is_set():
                try:
                    b = c.recv(65536)
                except TimeoutError:
                    continue
                except OSError:
                    return
                if not b:
                    return
                try:
                    c.sendall(b)
                except OSError:
                    return

    while not stop.is_set():
        try:
            c, _ = srv.accept()
        except OSError:
            continue
        c.settimeout(1.0)
        threading.Thread(target=serve, args=(c,), daemon=True).start()


class Listener:
    """Counts frames arriving on eth0 from outside the tenant: a source MAC that is not one
    of the tenant's, or an IPv4/ARP source address outside its subnet."""

    def __init__(self, subnet: str, macs: list[str], ignore: list[str]) -> None:
        self.net = ipaddress.ip_network(subnet)
        self.macs = {bytes.fromhex(m.replace(":", "")) for m in macs}
        self.ignore = {bytes.fromhex(m.replace(":", "")) for m in ignore}
        self.count = 0
        self.samples: list[str] = []
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        self.sock.bind(("eth0", 0))
        self.sock.settimeout(0.5)

    def loop(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                frame, addr = self.sock.recvfrom(65535)
            except OSError:
                continue
            if addr[2] == PACKET_OUTGOING or len(frame) < 14:
                continue
            src_mac = frame[6:12]
            if src_mac in self.ignore:
                continue
            ethertype = struct.unpack("!H", frame[12:14])[0]
            foreign = src_mac not in self.macs
            src_ip = None
            if ethertype == 0x0800 and len(frame) >= 34:
                src_ip = ipaddress.ip_address(frame[26:30])
            elif ethertype == 0x0806 and len(frame) >= 42:
                src_ip = ipaddress.ip_address(frame[28:32])
            if src_ip is not None and int(src_ip) != 0 and src_ip not in self.net:
                foreign = True
            if foreign:
                self.count += 1
                if len(self.samples) < 5:
                    self.samples.append(f"{src_mac.hex(':')} {src_ip} type={ethertype:#06x}")


def spoof_loop(
    own_mac: str, own_ip: str, targets: list[dict[str, str]], stop: threading.Event
) -> None:
    """Every 0.5 s a UDP frame straight at another tenant's MAC and address."""
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind(("eth0", 0))
    src_mac = bytes.fromhex(own_mac.replace(":", ""))
    while not stop.wait(0.5):
        for t in targets:
            udp = struct.pack("!HHHH", 40000, 9, 8 + 5, 0) + b"chaos"
            ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0,
                             socket.inet_aton(own_ip), socket.inet_aton(t["ip"]))
            ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
            frame = bytes.fromhex(t["mac"].replace(":", "")) + src_mac + b"\x08\x00" + ip + udp
            with contextlib.suppress(OSError):
                s.send(frame)


def main() -> int:
    cfg: dict[str, Any] = json.loads(sys.argv[1])
    stop = threading.Event()
    threads: list[threading.Thread] = []

    def spawn(fn: Any, *args: Any) -> None:
        t = threading.Thread(target=fn, args=(*args, stop), daemon=True)
        t.start()
        threads.append(t)

    if cfg.get("echo_port"):
        spawn(echo_server, int(cfg["echo_port"]))
    pinger = Pinger(list(cfg.get("pings", []))) if cfg.get("pings") else None
    if pinger is not None:
        spawn(pinger.send_loop)
        spawn(pinger.recv_loop)
    stream = Stream(cfg["stream"]["dst"], int(cfg["stream"]["port"])) if cfg.get("stream") else None
    if stream is not None:
        spawn(stream.loop)
    listener = None
    if cfg.get("listen"):
        listen = cfg["listen"]
        listener = Listener(listen["subnet"], listen["macs"], listen.get("ignore", []))
        spawn(listener.loop)
    if cfg.get("spoof"):
        spawn(spoof_loop, cfg["mac"], cfg["ip"], cfg["spoof"])
    print(json.dumps({"ready": True, "t": time.monotonic()}), flush=True)
    prev_cut = time.monotonic() - PING_TIMEOUT
    prev_t = time.monotonic()
    try:
        while True:
            time.sleep(REPORT_EVERY)
            now = time.monotonic()
            cut = now - PING_TIMEOUT
            report: dict[str, Any] = {"t0": prev_t, "t1": now}
            if pinger is not None:
                report["ping"] = {"t0": prev_cut, "t1": cut, "by": pinger.harvest(cut)}
            if stream is not None:
                connected, n = stream.take()
                report["stream"] = {"connected": connected, "bytes": n}
            if listener is not None:
                report["cross"] = listener.count
                report["cross_samples"] = listener.samples
            print(json.dumps(report), flush=True)
            prev_cut, prev_t = cut, now
    except (KeyboardInterrupt, BrokenPipeError):
        stop.set()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
