#!/usr/bin/env bash
# Run a command as root inside a software-emulated VM that boots Debian's kernel over the
# host's own root file system (virtme-ng), with openvswitch.ko loaded, in this repository.
# The host kernel has no openvswitch module; this VM does.
# Usage: scripts/vm-run.sh PROGRAM ARG...   (each argument kept as one word)
#        scripts/vm-run.sh "SHELL COMMAND LINE"
# Exit code: the command's, inside the VM.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)
[[ $# -gt 0 ]] || { echo "usage: $0 COMMAND..." >&2; exit 2; }
scripts/setup-system.sh vm
[[ -x .venv/bin/vng ]] || .venv/bin/pip install -q 'virtme-ng>=1.30'  # the 'kernel' extra
export PATH="$REPO/.venv/bin:$PATH"   # vng runs virtme-run by name
KERNEL=$(ls /boot/vmlinuz-* | sort -V | tail -1)
if [[ $# -eq 1 ]]; then
  CMD=$1
else  # single-quote every word (backslash escapes do not survive the trip into the guest)
  CMD=""
  for word in "$@"; do CMD+="'${word//\'/\'\\\'\'}' "; done
fi
LOG=$(mktemp /tmp/vm-run.XXXXXX)
trap 'rm -f "$LOG"' EXIT
echo "vm-run: booting $KERNEL (software emulation: KVM guests hang here; about 20 s)"
# --rwdir: the guest may write the repository (pytest, hypothesis) and nothing else of ours.
timeout "${VM_TIMEOUT:-900}" vng --run "$KERNEL" --disable-kvm --user root --memory 2G \
  --rwdir "$REPO" \
  --exec "modprobe openvswitch && cd '$REPO' && $CMD; echo VM_RUN_RC=\$?" \
  2>&1 | tee "$LOG" || true
RC=$(grep -ao 'VM_RUN_RC=[0-9]*' "$LOG" | tail -1 | cut -d= -f2)
if [[ -z "$RC" ]]; then
  echo "vm-run: the VM did not report an exit code (boot failure or timeout)" >&2
  exit 1
fi
exit "$RC"
