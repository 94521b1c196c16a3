#!/usr/bin/env bash
# Install the Debian packages a make target needs, only those missing (idempotent).
# Usage: scripts/setup-system.sh GROUP...   groups: base zookeeper netns vm chaos cassandra
set -euo pipefail

declare -A GROUPS_PKGS=(
  [base]="python3-venv"
  [zookeeper]="zookeeper default-jre-headless"
  # Cassandra (scripts/cassandra/cassandra.sh): maven fetches its jars from Maven Central
  [cassandra]="maven default-jre-headless"
  [netns]="iproute2 nftables iputils-ping netcat-openbsd"
  [vm]="qemu-system-x86 linux-image-amd64 busybox-static openvswitch-switch"
  [chaos]="faketime"
)

want=()
for g in "$@"; do
  [[ -n "${GROUPS_PKGS[$g]+x}" ]] || { echo "setup-system: unknown group '$g'" >&2; exit 2; }
  for p in ${GROUPS_PKGS[$g]}; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || want+=("$p")
  done
done
[[ ${#want[@]} -eq 0 ]] && exit 0

if [[ $(id -u) -ne 0 ]]; then SUDO=sudo; else SUDO=; fi
echo "setup-system: installing ${want[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${want[@]}" >/dev/null
