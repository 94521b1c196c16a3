"""meshctl's entry point: parse, run one command, map every failure to a message and an
exit code (0 ok, 1 server or connection error, 2 usage); never a traceback."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
from collections.abc import Sequence
from importlib.metadata import entry_points
from typing import TextIO

from mesh.cli.commands import COMMANDS
from mesh.cli.errors import EXIT_FAILURE, EXIT_USAGE, CliError, UsageError
from mesh.cli.http import DEFAULT_API, ApiClient, base_url
from mesh.cli.output import Output
from mesh.cli.parser import Context, Parser, SubCommands, add_common_options

log = logging.getLogger("meshctl")
EXTENSION_GROUP = "vnetmesh.meshctl"  # entry points: callables register(sub: SubCommands)


def build_parser(extensions: bool = True) -> Parser:
    parser = Parser(
        prog="meshctl",
        allow_abbrev=False,
        description="Inspect and change a vnetmesh mesh through meshd's HTTP API.",
        epilog="Exit status: 0 ok, 1 server or connection error, 2 bad arguments.",
    )
    add_common_options(parser, suppress=False)
    sub = SubCommands(parser, "commands", "command")
    for register in COMMANDS:
        register(sub)
    if extensions:
        for ep in entry_points(group=EXTENSION_GROUP):
            try:
                ep.load()(sub)
            except Exception as e:  # a broken extension must not break the core commands
                log.warning("meshctl: extension %s not loaded: %r", ep.name, e)
    return parser


def read_token(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as f:
            token = f.read().strip()
    except (OSError, ValueError, UnicodeDecodeError) as e:
        raise UsageError(f"cannot read token file {path!r}: {getattr(e, 'strerror', e)}") from None
    if not token or any(c.isspace() for c in token) or not token.isprintable():
        raise UsageError(f"token file {path!r} must hold one non-empty token")
    return token


def make_context(args: argparse.Namespace, stdout: TextIO, stdin: TextIO) -> Context:
    api = args.api or os.environ.get("MESHCTL_API") or DEFAULT_API
    token_file = args.token_file or os.environ.get("MESHCTL_TOKEN_FILE")
    token = read_token(token_file) if token_file else None
    client = ApiClient(base_url(api), token=token, timeout=args.timeout)
    return Context(client, Output(stdout, json=args.json), read_stdin=stdin.read)


def main(
    argv: Sequence[str] | None = None,
    *,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
    stdin: TextIO | None = None,
) -> int:
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            parser = build_parser()
            try:
                args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
            except SystemExit as e:  # --help
                return e.code if isinstance(e.code, int) else 0
        ctx = make_context(args, out, stdin or sys.stdin)
        code: int = args.handler(ctx, args)
        return code
    except UsageError as e:
        if e.usage:
            err.write(e.usage + "\n")
        err.write(f"meshctl: error: {e}\n")
        return EXIT_USAGE
    except CliError as e:
        err.write(f"meshctl: error: {e}\n")
        return e.exit_code
    except BrokenPipeError:
        with contextlib.suppress(OSError):
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - silence the flush at exit
        return EXIT_FAILURE
    except KeyboardInterrupt:
        err.write("meshctl: interrupted\n")
        return 130
    except Exception as e:  # a bug of ours: still one line, not a traceback
        err.write(f"meshctl: internal error: {e!r}\n")
        return EXIT_FAILURE


if __name__ == "__main__":
    raise SystemExit(main())
