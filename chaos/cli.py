"""`meshchaos`: `run` a chaos test against real agents (chaos/run.py), or `check` a saved
history again. Exit codes: 0 valid, 1 invalid or unknown, 2 unusable input."""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from collections.abc import Sequence
from pathlib import Path

EXIT_VALID = 0
EXIT_INVALID = 1
EXIT_UNUSABLE = 2


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="meshchaos",
        description="Jepsen-style fault injection and checking for vnetmesh agents.",
    )
    sub = p.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="start agents in namespaces, inject faults, check")
    run.add_argument("--hosts", type=int, default=3, help="agents (network namespaces)")
    run.add_argument("--time-limit", type=float, default=60.0, help="seconds of faults")
    run.add_argument("--nemesis", default="partition", help="comma-separated nemeses")
    run.add_argument("--workload", default="set", help="comma-separated workloads")
    run.add_argument("--seed", type=int, default=0, help="same seed, same fault schedule")
    run.add_argument("--out", type=Path, default=Path("chaos-out"), help="output directory")
    run.add_argument("--zookeeper", action="store_true", help="a real 3-server ensemble")
    run.add_argument("--cassandra", action="store_true", help="real Cassandra nodes")
    run.add_argument("--datapath", choices=("userspace", "kernel"), default="userspace")

    chk = sub.add_parser("check", help="re-run the checkers on a saved history.jsonl")
    chk.add_argument("history", type=Path, help="a history.jsonl file (or a run's DIR)")
    chk.add_argument(
        "--checker",
        action="append",
        default=None,
        help="run only this checker (repeatable); default: those the history has ops for",
    )
    chk.add_argument(
        "--out", type=Path, default=None,
        help="also write results.json and report.html into this directory",
    )
    return p


def _check(args: argparse.Namespace) -> int:
    from chaos.checkers import BY_NAME, applicable, check_history
    from chaos.history import HistoryError, load

    path: Path = args.history
    if path.is_dir():
        path = path / "history.jsonl"
    try:
        ops = load(path)
    except HistoryError as e:
        print(f"meshchaos check: {path}: unusable history: {e}", file=sys.stderr)
        return EXIT_UNUSABLE
    except OSError as e:
        print(f"meshchaos check: {path}: cannot read: {e.strerror or e}", file=sys.stderr)
        return EXIT_UNUSABLE
    names = args.checker
    if names is not None:
        unknown = [n for n in names if n not in BY_NAME]
        if unknown:
            print(f"meshchaos check: unknown checker {', '.join(unknown)} "
                  f"(known: {', '.join(BY_NAME)})", file=sys.stderr)
            return EXIT_UNUSABLE
    elif not applicable(ops):
        print(f"meshchaos check: {path}: no workload operations to check "
              f"({len(ops)} lines)", file=sys.stderr)
        return EXIT_UNUSABLE
    if args.out is not None:
        from chaos.report import write_outputs

        results = write_outputs(args.out, ops, names)
    else:
        results = check_history(ops, names)
    print(json.dumps(results, indent=2, allow_nan=False, default=str))
    return EXIT_VALID if results["valid"] is True else EXIT_INVALID


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "check":
        return _check(args)
    # the runner (chaos/run.py) is imported only here, so `check` works without its deps
    run = importlib.import_module("chaos.run")
    return int(run.main(args))


if __name__ == "__main__":
    sys.exit(main())
