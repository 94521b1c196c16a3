"""Inputs the schemathesis run led to: address parsers take ASCII only (a superscript digit
was a 500, an Arabic-Indic one was read as a number, "0x" passed as MAC hex)."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.api.openapi import PACKET_SCHEMAS, field_schema
from services.topology.addr import Cidr, parse_ip, parse_mac
from services.topology.errors import ValidationError


@pytest.mark.parametrize("text", ["1.2.3.\u00b2", "1.2.3.\u0663", "\uff11.2.3.4"])
def test_ip_with_non_ascii_digits_is_a_validation_error(text: str) -> None:
    with pytest.raises(ValidationError):
        parse_ip(text)


@pytest.mark.parametrize("text", ["1.2.3.4/\u00b2", "1.2.3.4/\u0663"])
def test_cidr_with_non_ascii_prefix_is_a_validation_error(text: str) -> None:
    with pytest.raises(ValidationError):
        Cidr.parse(text)


@pytest.mark.parametrize("text", ["0x:00:00:00:00:01", " 1:00:00:00:00:01", "1_:23:00:00:00:00"])
def test_mac_takes_hex_digits_only(text: str) -> None:
    with pytest.raises(ValidationError):
        parse_mac(text)


def _accepts(parse: Callable[[str], object], text: str) -> bool:
    try:
        parse(text)
    except ValidationError:
        return False
    return True


_DOTTED = st.lists(
    st.one_of(st.integers(0, 300).map(str), st.text("0123456789\u00b2x", max_size=4)),
    min_size=3,
    max_size=5,
).map(".".join)


@given(_DOTTED)
def test_ip_pattern_is_the_parser(text: str) -> None:
    """The documented pattern accepts exactly what the server's parser accepts."""
    pattern = PACKET_SCHEMAS["ip_src"]["pattern"]
    assert bool(re.fullmatch(pattern.strip("^$"), text)) == _accepts(parse_ip, text)


@given(_DOTTED, st.one_of(st.none(), st.text("0123456789\u00b2", max_size=4)))
def test_cidr_pattern_is_the_parser(ip: str, plen: str | None) -> None:
    text = ip if plen is None else f"{ip}/{plen}"
    pattern = field_schema("routes", "dst")["pattern"]
    assert bool(re.fullmatch(pattern.strip("^$"), text)) == _accepts(Cidr.parse, text)


@given(st.lists(st.text("0123456789abcdefABCDEFx_ +", max_size=3), min_size=5, max_size=7))
def test_mac_pattern_is_the_parser(parts: list[str]) -> None:
    text = ":".join(parts)
    pattern = field_schema("ports", "mac")["pattern"]
    assert bool(re.fullmatch(pattern.strip("^$"), text)) == _accepts(parse_mac, text)
