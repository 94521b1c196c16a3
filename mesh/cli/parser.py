"""The argument parser: usage errors raised (not exited), options accepted before or after
the command, and helpers that let a command module add itself in a few lines."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn

from mesh.cli.errors import UsageError
from mesh.cli.http import ApiClient
from mesh.cli.output import Output


@dataclass(frozen=True, slots=True)
class Context:
    """What a command handler gets besides its arguments."""

    api: ApiClient
    out: Output
    read_stdin: Callable[[], str]


Handler = Callable[[Context, argparse.Namespace], int]


class Parser(argparse.ArgumentParser):
    """An ArgumentParser that raises UsageError instead of printing and exiting."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(message, self.format_usage().strip())


class SubCommands:
    """The subcommands of a parser; `add` returns the new command's parser."""

    def __init__(self, parser: argparse.ArgumentParser, title: str, dest: str) -> None:
        self._sub = parser.add_subparsers(title=title, dest=dest, metavar="COMMAND")
        self._sub.required = True

    def add(
        self,
        name: str,
        help: str,
        handler: Handler | None = None,
        aliases: Sequence[str] = (),
        description: str | None = None,
    ) -> argparse.ArgumentParser:
        p: argparse.ArgumentParser = self._sub.add_parser(
            name,
            help=help,
            aliases=list(aliases),
            description=description or help,
            allow_abbrev=False,
        )
        add_common_options(p, suppress=True)
        if handler is not None:
            p.set_defaults(handler=handler)
        return p

    def group(self, name: str, help: str, aliases: Sequence[str] = ()) -> SubCommands:
        """A command that only holds subcommands (like `kv get|put|del|ls`)."""
        return SubCommands(self.add(name, help, aliases=aliases), f"{name} commands", f"{name}_cmd")


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 < value < 1e6:
        raise argparse.ArgumentTypeError(f"must be positive (seconds): {text!r}")
    return value


def add_common_options(p: argparse.ArgumentParser, *, suppress: bool) -> None:
    """Global options; on subcommands their defaults are suppressed so that a value given
    before the command is not overwritten."""

    def d(value: Any) -> Any:
        return argparse.SUPPRESS if suppress else value

    p.add_argument(
        "--api",
        metavar="ADDR:PORT",
        default=d(None),
        help="meshd API address (default: $MESHCTL_API or 127.0.0.1:7947)",
    )
    p.add_argument(
        "--token-file",
        metavar="PATH",
        default=d(None),
        help="file holding the API bearer token (default: $MESHCTL_TOKEN_FILE)",
    )
    p.add_argument("--json", action="store_true", default=d(False), help="print JSON for scripts")
    p.add_argument(
        "--timeout",
        type=positive_float,
        metavar="SECONDS",
        default=d(10.0),
        help="request timeout (default 10)",
    )
