"""meshd command-line plugin (entry point group ``vnetmesh.commands``): the agent's run
flags and the ``demo`` subcommand."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from services.agent.backend import BACKENDS

if TYPE_CHECKING:
    SubParsers = argparse._SubParsersAction[argparse.ArgumentParser]


def register(subparsers: SubParsers, run: argparse.ArgumentParser) -> None:
    """Add --datapath / --tunnel-ip to ``meshd run`` and the ``meshd demo`` subcommand."""
    run.add_argument(
        "--datapath",
        dest="ext.agent.datapath",
        choices=BACKENDS,
        help="datapath backend of the packet path (default auto: kernel where the "
        "openvswitch module is present, else userspace; off: no packet path)",
    )
    run.add_argument(
        "--tunnel-ip",
        dest="underlay",
        metavar="ADDR",
        help="this host's tunnel endpoint (VXLAN) address, advertised to peers (default: "
        "the gossip address; same as --underlay)",
    )
    demo = subparsers.add_parser(
        "demo", help="three namespaced hosts, two tenants, a router: ping, TCP, flows, trace"
    )
    demo.add_argument("--keep", action="store_true", help="leave the namespaces up at the end")
    demo.add_argument(
        "--datapath",
        default="auto",
        choices=BACKENDS[:3],
        help="backend of the demo agents (default auto: userspace without openvswitch.ko)",
    )
    demo.add_argument("--prefix", default="vnmdemo", help="namespace name prefix")
    demo.set_defaults(handler=_run_demo)


def _run_demo(args: argparse.Namespace) -> int:
    from services.demo.main import run

    return run(args)
