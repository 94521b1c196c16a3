"""meshd configuration merging: file values, flag overrides, the [mesh] section."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mesh.daemon.config import ConfigError, build_config, mesh_config
from mesh.daemon.main import parse_config
from mesh.transport.address import AddressError, format_address, parse_address


def test_flags_override_file_and_seeds_add_up(tmp_path: Path) -> None:
    cfg_file = tmp_path / "m.toml"
    cfg_file.write_text(
        'host_id = "a"\ngossip = "10.0.0.1:7000"\nadvertise = "192.0.2.1"\n'
        'seeds = ["10.0.0.2:7000"]\nprofile = "wan"\n[mesh]\ngossip_interval = 1\n'
    )
    command, cfg = parse_config(
        ["--config", str(cfg_file), "--host-id", "b", "--seed", "[::1]:7001", "--api", "0.0.0.0"]
    )
    assert command == "run"
    assert cfg.host_id == "b"
    assert cfg.gossip == ("10.0.0.1", 7000)
    assert cfg.gossip_advertise == ("192.0.2.1", 7000)
    assert cfg.seeds == (("10.0.0.2", 7000), ("::1", 7001))
    assert cfg.api == ("0.0.0.0", 7947)
    mcfg = mesh_config(cfg)
    assert mcfg.gossip_interval == 1.0 and isinstance(mcfg.gossip_interval, float)
    assert mcfg.probe_interval == 5.0  # from the wan profile


def test_explicit_run_and_defaults() -> None:
    _, cfg = parse_config(["run", "--host-id", "x"])
    assert cfg.gossip == ("127.0.0.1", 7946)
    assert cfg.api == ("127.0.0.1", 7947)
    assert cfg.seeds == () and cfg.data_dir is None and cfg.key_file is None


def test_mesh_field_types_checked() -> None:
    with pytest.raises(ConfigError, match=r"mesh\.gossip_fanout: expected an integer"):
        mesh_config(build_config({"mesh": {"gossip_fanout": 2.5}}, {}))
    with pytest.raises(ConfigError, match=r"mesh\.mtu: must be >= 0"):
        mesh_config(build_config({"mesh": {"mtu": -1}}, {}))


@given(text=st.text(max_size=30) | st.text(max_size=10).map(lambda t: f"[{t}]:{len(t)}"))
def test_parse_address_fuzz(text: str) -> None:
    """Any text is either an address or an AddressError (never another exception)."""
    try:
        host, port = parse_address(text, default_port=7946)
    except AddressError:
        return
    assert host and 0 <= port <= 65535
    assert parse_address(format_address((host, port))) == (host, port)


@pytest.mark.parametrize(
    "text", ["h:²", "h:٣", "[::1]:x", "[::1", ":80", "a:b:c", "h:65536", "a b:1", "x]:1", "h\x00:1"]
)
def test_parse_address_rejects(text: str) -> None:
    with pytest.raises(AddressError):
        parse_address(text)
