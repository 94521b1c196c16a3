"""meshctl: the command-line client of meshd's HTTP API (stdlib only: argparse + urllib)."""
