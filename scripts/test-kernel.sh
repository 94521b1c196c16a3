#!/usr/bin/env bash
# The kernel datapath tests (tests/kernel) against a real openvswitch.ko, inside the VM of
# scripts/vm-run.sh. Prints pytest's summary line last; exits with pytest's code.
# Usage: scripts/test-kernel.sh [pytest args...]   (default: tests/kernel)
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=$(mktemp /tmp/test-kernel.XXXXXX)
trap 'rm -f "$OUT"' EXIT
[[ $# -gt 0 ]] || set -- tests/kernel
# Plugins are loaded explicitly: scanning every installed plugin (schemathesis...) over the
# guest's 9p root file system costs minutes under emulation.
scripts/vm-run.sh env PYTEST_DISABLE_PLUGIN_AUTOLOAD=1 .venv/bin/pytest -q -p no:cacheprovider \
  -p pytest_asyncio.plugin -p _hypothesis_pytestplugin "$@" 2>&1 | tee "$OUT"
RC=${PIPESTATUS[0]}
SUMMARY=$(grep -aE '[0-9]+ (passed|failed|errors?|skipped)' "$OUT" | tail -1)
echo "test-kernel: ${SUMMARY:-no pytest summary (the VM did not run the tests)}"
exit "$RC"
