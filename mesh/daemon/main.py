"""``meshd`` console script: ``meshd [run] [--config FILE] [flags]`` runs one agent.

Subcommands live under argparse subparsers; ``run`` is the default when none is named.
Configuration and usage errors print one line and exit 2; never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from mesh.daemon.config import ConfigError, DaemonConfig, build_config, load_file
from mesh.daemon.logfmt import setup_logging

EXIT_OK = 0
EXIT_RUNTIME = 1
EXIT_USAGE = 2

log = logging.getLogger("mesh.daemon")

SUBCOMMANDS = ("run",)

COMMANDS_GROUP = "vnetmesh.commands"
"""Entry points of this group name ``hook(subparsers, run_parser)``: it may add subcommands
(``parser.set_defaults(handler=fn)``, ``fn(args) -> exit code``) and flags of ``run`` whose
dest is ``ext.NAME.KEY`` (the value lands in the ``[extensions.NAME]`` config section)."""


class _Parser(argparse.ArgumentParser):
    """argparse that reports errors as one line (``meshd: error: ...``) with exit code 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"meshd: error: {message}\n")


def build_parser(*, plugins: bool = True) -> argparse.ArgumentParser:
    """meshd's parser; with ``plugins`` the ``vnetmesh.commands`` entry points are imported
    and add their commands and run flags. Without, the help names them (not imported)."""
    parser = _Parser(prog="meshd", description="Run a vnetmesh state-mesh agent.")
    subs = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    run = subs.add_parser("run", help="run the agent (the default command)")
    run.add_argument("--config", type=Path, help="TOML config file")
    run.add_argument("--host-id", dest="host_id", help="stable unique id of this host")
    run.add_argument("--gossip", help="ADDR:PORT for gossip (UDP) and push-pull (TCP)")
    run.add_argument("--advertise", help="ADDR:PORT peers use to reach us (default: --gossip)")
    run.add_argument("--api", help="ADDR:PORT of the HTTP API (default 127.0.0.1:7947)")
    run.add_argument(
        "--seed", dest="seeds", action="append", help="ADDR:PORT of a member (repeatable)"
    )
    run.add_argument("--key-file", dest="key_file", help="gossip keyring file (encryption)")
    run.add_argument("--api-token-file", dest="api_token_file", help="API bearer token file")
    run.add_argument("--zookeeper", help="ZooKeeper hosts; membership then comes from it")
    run.add_argument(
        "--zookeeper-root", dest="zookeeper_root", help="znode root (default /vnetmesh)"
    )
    run.add_argument(
        "--data-dir",
        dest="data_dir",
        help="directory for the write-ahead log and snapshots (writes are durable when "
        "acknowledged); without it, a write lives in memory until it has spread",
    )
    run.add_argument("--underlay", help="underlay (tunnel) address of this host")
    run.add_argument("--profile", help="timer profile: lan, wan or local")
    run.add_argument("--log-level", dest="log_level", help="debug, info, warning or error")
    run.add_argument("--log-format", dest="log_format", help="logfmt or json")
    run.add_argument(
        "--extension",
        dest="extension_refs",
        action="append",
        help="load an extension from MODULE:ATTR (repeatable; besides entry points)",
    )
    run.add_argument(
        "--no-entry-points",
        dest="entry_points",
        action="store_const",
        const=False,
        help="do not load the installed vnetmesh.extensions entry points",
    )
    if plugins:
        _load_plugins(subs, run)
    else:
        names = _plugin_names()
        if names:
            note = (
                f"Command plugins installed (imported only when used): {', '.join(names)}. "
                "They add commands and run flags: see --help-all."
            )
            parser.epilog = run.epilog = note
    return parser


def _plugin_names() -> list[str]:
    """Names of the installed command plugins, read from metadata (nothing imported)."""
    import importlib.metadata

    try:
        return sorted(ep.name for ep in importlib.metadata.entry_points(group=COMMANDS_GROUP))
    except Exception:
        return []


def _load_plugins(subs: argparse._SubParsersAction[_Parser], run: argparse.ArgumentParser) -> None:
    import importlib.metadata

    for ep in importlib.metadata.entry_points(group=COMMANDS_GROUP):
        try:
            ep.load()(subs, run)
        except Exception as exc:  # a broken plugin must not break meshd itself
            print(f"meshd: warning: command plugin {ep.name}: {exc!r}", file=sys.stderr)


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    """Parse the command line, importing command plugins only when they are needed: not
    for --help (they are named, see --help-all), nor for the built-in commands and flags
    (bad values are checked later, in build_config); only for a command or a flag that the
    built-in parser does not know, which may be a plugin's."""
    args = list(argv)
    if "--help-all" in args:
        full = build_parser()
        rest = [a for a in args if a != "--help-all"]
        return full.parse_args(
            [*_normalize(rest, _plugin_commands(full))[:1], "--help"] if rest else ["--help"]
        )
    maybe_plugin_command = bool(args) and not args[0].startswith("-") and args[0] not in SUBCOMMANDS
    if maybe_plugin_command:
        pass
    elif not args or args[0] not in ("-h", "--help"):
        base = build_parser(plugins=False)
        ns, unknown = base.parse_known_args(_normalize(args))
        if not unknown:
            return ns
    else:
        build_parser(plugins=False).parse_args(args)  # prints the help and exits
    full = build_parser()
    return full.parse_args(_normalize(args, _plugin_commands(full)))


def _plugin_commands(parser: argparse.ArgumentParser) -> tuple[str, ...]:
    """Names of every subcommand, plugins' included."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return tuple(action.choices)
    return SUBCOMMANDS


def _fold_ext_flags(data: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """Move ``ext.NAME.KEY`` flag values into the file data's ``[extensions.NAME]`` section."""
    for key in [k for k in overrides if k.startswith("ext.")]:
        value = overrides.pop(key)
        if value is not None:
            _, name, field = key.split(".", 2)
            section = dict(data.get("extensions", {}))
            section[name] = {**section.get(name, {}), field: value}
            data = {**data, "extensions": section}
    return data


def _normalize(argv: list[str], names: Sequence[str] = SUBCOMMANDS) -> list[str]:
    """Insert the default ``run`` subcommand unless one (or top-level help) is given."""
    if argv and (argv[0] in names or argv[0] in ("-h", "--help")):
        return argv
    return ["run", *argv]


def parse_config(argv: Sequence[str]) -> tuple[str, DaemonConfig]:
    """Parse flags and the config file (exits 2 with one line on any error)."""
    return config_from(parse_args(argv))


def config_from(args: argparse.Namespace) -> tuple[str, DaemonConfig]:
    """The DaemonConfig of parsed arguments (exits 2 with one line on any error)."""
    overrides: dict[str, Any] = {
        k: v for k, v in vars(args).items() if k not in ("command", "config", "handler")
    }
    try:
        data = load_file(args.config) if args.config is not None else {}
        data = _fold_ext_flags(data, overrides)
        return args.command, build_config(data, overrides)
    except ConfigError as exc:
        _die(str(exc))


def _die(message: str, code: int = EXIT_USAGE) -> NoReturn:
    print(f"meshd: error: {message}", file=sys.stderr)
    sys.exit(code)


async def run_agent(cfg: DaemonConfig) -> int:
    """Run until SIGTERM/SIGINT, then leave gracefully. Returns the exit code."""
    from mesh.daemon.agent import Agent

    loop = asyncio.get_running_loop()
    stop = asyncio.Event()

    def on_signal(signame: str) -> None:
        if stop.is_set():
            log.warning("second signal; exiting now", extra={"fields": {"signal": signame}})
            os._exit(EXIT_RUNTIME)
        log.info("shutting down", extra={"fields": {"signal": signame}})
        stop.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, on_signal, sig.name)
    agent = Agent(cfg)
    try:
        await agent.start()
    except ConfigError:
        await agent.stop()
        raise
    except Exception as exc:  # sockets in use, ZooKeeper unreachable, ...
        await agent.stop()
        log.error("cannot start", extra={"fields": {"error": str(exc) or repr(exc)}})
        print(f"meshd: error: {exc or repr(exc)}", file=sys.stderr)
        return EXIT_RUNTIME
    await stop.wait()
    await agent.stop()
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Console-script entry point."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(args_list)
    handler = getattr(args, "handler", None)
    if handler is not None:  # a subcommand contributed through COMMANDS_GROUP
        return int(handler(args))
    command, cfg = config_from(args)
    setup_logging(cfg.log_level, cfg.log_format)
    if command != "run":  # pragma: no cover - only "run" exists so far
        _die(f"unknown command {command!r}")
    try:
        code = asyncio.run(run_agent(cfg))
    except ConfigError as exc:
        _die(str(exc))
    except KeyboardInterrupt:
        code = EXIT_OK
    except Exception as exc:
        zk_error = type(exc).__name__ == "ZkError"
        if not zk_error:
            log.exception("meshd failed")
        _die(str(exc), EXIT_RUNTIME)
    return code


if __name__ == "__main__":
    sys.exit(main())
