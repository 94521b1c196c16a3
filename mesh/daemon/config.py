"""meshd configuration: a TOML file (tomllib) overridden by command-line flags.

Every problem is a ConfigError with a one-line message; main() turns it into exit code 2.
"""

from __future__ import annotations

import math
import socket
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import mesh.config
from mesh.setup_errors import ConfigError
from mesh.transport.address import AddressError, is_wildcard, parse_address

__all__ = ["ConfigError", "DaemonConfig", "build_config", "load_file", "mesh_config"]

Address = tuple[str, int]

DEFAULT_GOSSIP_PORT = 7946
DEFAULT_API_PORT = 7947
LOG_LEVELS = ("debug", "info", "warning", "error")
LOG_FORMATS = ("logfmt", "json")
PROFILES = ("lan", "wan", "local")


@dataclass(frozen=True, slots=True)
class DaemonConfig:
    """Everything one meshd needs to start (see docs/meshd.md for each key)."""

    host_id: str
    gossip: Address = ("127.0.0.1", DEFAULT_GOSSIP_PORT)
    advertise: Address | None = None
    api: Address = ("127.0.0.1", DEFAULT_API_PORT)
    seeds: tuple[Address, ...] = ()
    key_file: Path | None = None
    api_token_file: Path | None = None
    zookeeper: str | None = None
    zookeeper_root: str = "/vnetmesh"
    data_dir: Path | None = None
    underlay: str | None = None
    log_level: str = "info"
    log_format: str = "logfmt"
    profile: str = "lan"
    mesh: Mapping[str, Any] = field(default_factory=dict)
    snapshot_interval: float = 10.0
    wal_fsync: bool = True  # false: the write-ahead log is written but not synced
    max_body_bytes: int = 64 * 1024
    leave_timeout: float = 1.0
    extension_refs: tuple[str, ...] = ()
    disabled_extensions: tuple[str, ...] = ()
    entry_points: bool = True  # load the vnetmesh.extensions entry points
    extensions: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    @property
    def gossip_advertise(self) -> Address:
        """The gossip address peers should use (``advertise`` or the bind address)."""
        return self.advertise or self.gossip


_TOP_KEYS = {
    "host_id",
    "gossip",
    "advertise",
    "api",
    "seeds",
    "key_file",
    "api_token_file",
    "zookeeper",
    "zookeeper_root",
    "data_dir",
    "underlay",
    "log_level",
    "log_format",
    "profile",
    "mesh",
    "snapshot_interval",
    "wal_fsync",
    "max_body_bytes",
    "leave_timeout",
    "extensions",
}


def load_file(path: Path) -> dict[str, Any]:
    """Read a TOML config file into a dict (ConfigError on any problem)."""
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError as exc:
        raise ConfigError(f"config file {path}: not found") from exc
    except OSError as exc:
        raise ConfigError(f"config file {path}: {exc.strerror or exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path}: invalid TOML: {exc}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"config file {path}: not UTF-8 text") from exc
    return data


def _str(name: str, value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{name}: expected a non-empty string, got {value!r}")
    return value.strip()


def _addr(name: str, value: object, default_port: int | None = None) -> Address:
    try:
        return parse_address(_str(name, value), default_port=default_port)
    except AddressError as exc:
        raise ConfigError(f"{name}: {exc}") from exc


def _number(name: str, value: object, *, minimum: float, integer: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{name}: expected a number, got {value!r}")
    if not math.isfinite(value):
        raise ConfigError(f"{name}: must be a finite number, got {value!r}")
    if integer and not isinstance(value, int):
        raise ConfigError(f"{name}: expected an integer, got {value!r}")
    if value < minimum:
        raise ConfigError(f"{name}: must be >= {minimum}, got {value!r}")
    return value


def _choice(name: str, value: object, choices: tuple[str, ...]) -> str:
    text = _str(name, value).lower()
    if text not in choices:
        raise ConfigError(f"{name}: expected one of {', '.join(choices)}, got {value!r}")
    return text


def _items(name: str, value: object) -> list[object]:
    if not isinstance(value, list | tuple):
        raise ConfigError(f"{name}: expected a list")
    return list(value)


def _str_list(name: str, value: object) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise ConfigError(f"{name}: expected a list of strings")
    return tuple(_str(name, v) for v in value)


def build_config(file_data: Mapping[str, object], overrides: Mapping[str, object]) -> DaemonConfig:
    """Merge file values with flag overrides (flags win; None means "not given")."""
    unknown = set(file_data) - _TOP_KEYS
    if unknown:
        raise ConfigError(f"unknown config key(s): {', '.join(sorted(unknown))}")
    merged: dict[str, object] = dict(file_data)
    for key, value in overrides.items():
        if value is None:
            continue
        if key == "seeds":
            merged["seeds"] = [*_items("seeds", file_data.get("seeds", [])), *_items("seed", value)]
        elif key == "extension_refs":
            merged["extension_refs"] = _items("extension", value)
        else:
            merged[key] = value

    host_id = _str("host_id", merged.get("host_id", socket.gethostname()))
    if len(host_id) > 128 or any(not c.isprintable() or c.isspace() for c in host_id):
        raise ConfigError(f"host_id: at most 128 printable non-space characters: {host_id!r}")
    cfg = DaemonConfig(host_id=host_id)
    if "gossip" in merged:
        cfg = replace(cfg, gossip=_addr("gossip", merged["gossip"], DEFAULT_GOSSIP_PORT))
    if "advertise" in merged:
        cfg = replace(cfg, advertise=_addr("advertise", merged["advertise"], cfg.gossip[1]))
    if is_wildcard(cfg.gossip[0]) and cfg.advertise is None:
        raise ConfigError(
            f"gossip: {cfg.gossip[0]} cannot be advertised to peers; set advertise too"
        )
    if cfg.gossip_advertise[1] == 0 and cfg.advertise is not None:
        raise ConfigError("advertise: port 0 cannot be advertised")
    if "api" in merged:
        cfg = replace(cfg, api=_addr("api", merged["api"], DEFAULT_API_PORT))
    seeds = merged.get("seeds", [])
    if not isinstance(seeds, list):
        raise ConfigError("seeds: expected a list of HOST:PORT strings")
    cfg = replace(cfg, seeds=tuple(_addr("seed", s, DEFAULT_GOSSIP_PORT) for s in seeds))
    if "key_file" in merged:
        cfg = replace(cfg, key_file=Path(_str("key_file", merged["key_file"])))
    if "api_token_file" in merged:
        cfg = replace(cfg, api_token_file=Path(_str("api_token_file", merged["api_token_file"])))
    if "data_dir" in merged:
        cfg = replace(cfg, data_dir=Path(_str("data_dir", merged["data_dir"])))
    if "zookeeper" in merged:
        cfg = replace(cfg, zookeeper=_str("zookeeper", merged["zookeeper"]))
    if "zookeeper_root" in merged:
        root = _str("zookeeper_root", merged["zookeeper_root"])
        if not root.startswith("/") or root.endswith("/"):
            raise ConfigError(f"zookeeper_root: expected an absolute znode path, got {root!r}")
        cfg = replace(cfg, zookeeper_root=root)
    if "underlay" in merged:
        cfg = replace(cfg, underlay=_str("underlay", merged["underlay"]))
    if "log_level" in merged:
        cfg = replace(cfg, log_level=_choice("log_level", merged["log_level"], LOG_LEVELS))
    if "log_format" in merged:
        cfg = replace(cfg, log_format=_choice("log_format", merged["log_format"], LOG_FORMATS))
    if "profile" in merged:
        cfg = replace(cfg, profile=_choice("profile", merged["profile"], PROFILES))
    if "snapshot_interval" in merged:
        value = _number("snapshot_interval", merged["snapshot_interval"], minimum=0.1)
        cfg = replace(cfg, snapshot_interval=float(value))
    if "wal_fsync" in merged:
        if not isinstance(merged["wal_fsync"], bool):
            raise ConfigError("wal_fsync: expected true or false")
        cfg = replace(cfg, wal_fsync=merged["wal_fsync"])
    if "leave_timeout" in merged:
        value = _number("leave_timeout", merged["leave_timeout"], minimum=0)
        cfg = replace(cfg, leave_timeout=float(value))
    if "max_body_bytes" in merged:
        value = _number("max_body_bytes", merged["max_body_bytes"], minimum=16, integer=True)
        cfg = replace(cfg, max_body_bytes=int(value))
    mesh = merged.get("mesh", {})
    if not isinstance(mesh, dict):
        raise ConfigError("mesh: expected a table of MeshConfig fields")
    cfg = replace(cfg, mesh=dict(mesh))
    cfg = _extensions(cfg, merged)
    return cfg


def _extensions(cfg: DaemonConfig, merged: Mapping[str, object]) -> DaemonConfig:
    section = merged.get("extensions", {})
    if not isinstance(section, dict):
        raise ConfigError("extensions: expected a table")
    refs = list(_str_list("extensions.load", section.get("load", [])))
    refs += list(_str_list("extension", merged.get("extension_refs", [])))
    disabled = _str_list("extensions.disable", section.get("disable", []))
    entry_points = section.get("entry_points", True)
    if merged.get("entry_points") is not None:
        entry_points = merged["entry_points"]
    if not isinstance(entry_points, bool):
        raise ConfigError("extensions.entry_points: expected true or false")
    per_ext: dict[str, dict[str, Any]] = {}
    for name, value in section.items():
        if name in ("load", "disable", "entry_points"):
            continue
        if not isinstance(value, dict):
            raise ConfigError(f"extensions.{name}: expected a table")
        required = value.get("required", False)
        if not isinstance(required, bool):
            raise ConfigError(f"extensions.{name}.required: expected true or false")
        per_ext[name] = dict(value)
    for ref in refs:
        module, _, attr = ref.partition(":")
        if not module or not attr:
            raise ConfigError(f"extension {ref!r}: expected MODULE:ATTRIBUTE")
    return replace(
        cfg,
        extension_refs=tuple(refs),
        disabled_extensions=disabled,
        entry_points=entry_points,
        extensions=per_ext,
    )


def mesh_config(cfg: DaemonConfig) -> mesh.config.MeshConfig:
    """Build the core's MeshConfig from the profile and the ``[mesh]`` overrides."""
    import dataclasses

    from mesh.config import MeshConfig

    base: MeshConfig = getattr(MeshConfig, cfg.profile)()
    known = {f.name: f for f in dataclasses.fields(MeshConfig)}
    changes: dict[str, Any] = {}
    for key, value in cfg.mesh.items():
        if key not in known:
            raise ConfigError(f"mesh.{key}: not a MeshConfig field")
        current = getattr(base, key)
        if isinstance(current, bool):
            if not isinstance(value, bool):
                raise ConfigError(f"mesh.{key}: expected true or false")
        elif isinstance(current, int | float):
            _number(f"mesh.{key}", value, minimum=0, integer=isinstance(current, int))
            value = type(current)(value)
        changes[key] = value
    try:
        return dataclasses.replace(base, **changes)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"mesh: {exc}") from exc
