#!/usr/bin/env bash
# The kernel datapath tests (tests/kernel) against a real openvswitch.ko, inside the VM of
# scripts/vm-run.sh. Prints pytest's summary line last; exits with pytest's code.
# Usage: scripts/test-kernel.sh [pytest args...]   (default: tests/kernel)
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=$(mktemp /tmp/test-kernel.XXXXXX)
trap 'rm -f "$OUT"' EXIT
ARGS=${*:-tests/kernel}
scripts/vm-run.sh ".venv/bin/pytest -q -p no:cacheprovider $ARGS" 2>&1 | tee "$OUT"
RC=${PIPESTATUS[0]}
SUMMARY=$(grep -aE '[0-9]+ (passed|failed|errors?|skipped)' "$OUT" | tail -1)
echo "test-kernel: ${SUMMARY:-no pytest summary (the VM did not run the tests)}"
exit "$RC"
