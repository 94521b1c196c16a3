"""IPv4 and MAC addresses as ints (the hot path compares ints, never strings)."""

from __future__ import annotations

from dataclasses import dataclass

from services.topology.errors import ValidationError

BROADCAST_MAC = 0xFFFFFFFFFFFF
_MASK32 = 0xFFFFFFFF
_HEX = frozenset("0123456789abcdefABCDEF")

# Regular expressions of exactly what the parsers below accept (ASCII digits, 1-3 digit
# octets up to 255, a CIDR's prefix length optional, /32 if absent); the OpenAPI schemas
# use them and tests/services_openapi/test_parsers.py checks they agree with the parsers
_OCTET = "([0-9]{1,2}|[01][0-9]{2}|2[0-4][0-9]|25[0-5])"
IP_PATTERN = rf"{_OCTET}\.{_OCTET}\.{_OCTET}\.{_OCTET}"
CIDR_PATTERN = rf"{IP_PATTERN}(/0*([0-9]|[12][0-9]|3[0-2]))?"
MAC_PATTERN = "([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}"


def parse_ip(text: object, field: str = "ip") -> int:
    """Parse dotted-quad IPv4 text into an int, naming `field` on error."""
    if not isinstance(text, str):
        raise ValidationError(field, f"expected an IPv4 address string, got {text!r}")
    parts = text.split(".")
    if len(parts) != 4:
        raise ValidationError(field, f"malformed IPv4 address {text!r}")
    value = 0
    for part in parts:
        # ASCII digits only: "²".isdigit() is true but int() refuses it (was a 500)
        if not (part.isascii() and part.isdigit()) or len(part) > 3 or int(part) > 255:
            raise ValidationError(field, f"malformed IPv4 address {text!r}")
        value = (value << 8) | int(part)
    return value


def format_ip(value: int) -> str:
    """Dotted-quad text of an IPv4 int."""
    return f"{value >> 24 & 255}.{value >> 16 & 255}.{value >> 8 & 255}.{value & 255}"


def parse_mac(text: object, field: str = "mac") -> int:
    """Parse "aa:bb:cc:dd:ee:ff" into a 48-bit int, naming `field` on error."""
    if not isinstance(text, str):
        raise ValidationError(field, f"expected a MAC address string, got {text!r}")
    parts = text.split(":")
    # hex digits only: int(..., 16) alone would also take "0x", "+", "_" and spaces
    if len(parts) != 6 or any(len(p) != 2 or not set(p) <= _HEX for p in parts):
        raise ValidationError(field, f"malformed MAC address {text!r}")
    try:
        return int("".join(parts), 16)
    except ValueError:
        raise ValidationError(field, f"malformed MAC address {text!r}") from None


def format_mac(value: int) -> str:
    """Colon-separated lowercase text of a 48-bit MAC int."""
    raw = f"{value:012x}"
    return ":".join(raw[i : i + 2] for i in range(0, 12, 2))


def is_multicast_mac(mac: int) -> bool:
    """True for broadcast and multicast MACs (group bit of the first octet)."""
    return bool(mac >> 40 & 1)


def prefix_mask(plen: int) -> int:
    """The 32-bit netmask of a prefix length."""
    return (_MASK32 << (32 - plen)) & _MASK32 if plen else 0


@dataclass(frozen=True, slots=True)
class Cidr:
    """An IPv4 address with a prefix length ("10.0.0.1/24": addr keeps the host bits)."""

    addr: int
    plen: int

    @classmethod
    def parse(cls, text: object, field: str = "cidr") -> Cidr:
        """Parse "a.b.c.d/n" (or a bare address, meaning /32)."""
        if not isinstance(text, str):
            raise ValidationError(field, f"expected a CIDR string, got {text!r}")
        ip_text, sep, plen_text = text.partition("/")
        if not sep:
            plen_text = "32"
        if not (plen_text.isascii() and plen_text.isdigit()) or int(plen_text) > 32:
            raise ValidationError(field, f"malformed prefix length in {text!r}")
        return cls(parse_ip(ip_text, field), int(plen_text))

    @property
    def mask(self) -> int:
        """The netmask as an int."""
        return prefix_mask(self.plen)

    @property
    def network(self) -> int:
        """The address with host bits cleared."""
        return self.addr & prefix_mask(self.plen)

    def contains(self, ip: int) -> bool:
        """True if `ip` lies inside this prefix."""
        mask = prefix_mask(self.plen)
        return (ip & mask) == (self.addr & mask)

    def __str__(self) -> str:
        return f"{format_ip(self.addr)}/{self.plen}"
