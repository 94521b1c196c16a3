"""Parse and format ``HOST:PORT`` strings (``[v6]:PORT`` for IPv6) as (host, port) tuples."""

from __future__ import annotations

import ipaddress


class AddressError(ValueError):
    """A ``HOST:PORT`` string that cannot be parsed."""


def parse_address(text: str, *, default_port: int | None = None) -> tuple[str, int]:
    """Parse ``host:port``, ``[v6]:port`` (or a bare host when ``default_port`` is given)."""
    text = text.strip()
    if not text:
        raise AddressError("empty address")
    host: str
    port_text: str | None
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            raise AddressError(f"bad address {text!r}: missing ']'")
        host = text[1:end]
        rest = text[end + 1 :]
        if rest == "":
            port_text = None
        elif rest.startswith(":"):
            port_text = rest[1:]
        else:
            raise AddressError(f"bad address {text!r}")
    elif text.count(":") == 1:
        host, port_text = text.split(":")
    elif text.count(":") == 0:
        host, port_text = text, None
    else:
        raise AddressError(f"bad address {text!r}: write IPv6 addresses as [addr]:port")
    if not host:
        raise AddressError(f"bad address {text!r}: empty host")
    if any(c.isspace() or not c.isprintable() or c in "[]/" for c in host):
        raise AddressError(f"bad address {text!r}: bad character in host")
    if port_text is None:
        if default_port is None:
            raise AddressError(f"bad address {text!r}: expected HOST:PORT")
        return host, default_port
    if not (port_text.isascii() and port_text.isdigit()):  # not "²" or "٣"
        raise AddressError(f"bad address {text!r}: port must be a number")
    port = int(port_text)
    if not 0 <= port <= 65535:
        raise AddressError(f"bad address {text!r}: port out of range")
    return host, port


def format_address(addr: tuple[str, int]) -> str:
    """The inverse of :func:`parse_address`."""
    host, port = addr
    if ":" in host:  # IPv6 (or anything else with a colon) needs brackets
        return f"[{host}]:{port}"
    return f"{host}:{port}"


def is_wildcard(host: str) -> bool:
    """True for addresses one can bind to but not advertise (0.0.0.0, ::)."""
    try:
        return ipaddress.ip_address(host).is_unspecified
    except ValueError:
        return False
