#!/usr/bin/env bash
# A real Cassandra (org.apache.cassandra:cassandra-all from Maven Central) on loopback.
#
#   scripts/cassandra/cassandra.sh fetch           jars into the cache (once; later runs: nothing)
#   scripts/cassandra/cassandra.sh start [N]       N nodes (default 1) on 127.0.0.1..N, wait for CQL
#   scripts/cassandra/cassandra.sh stop            SIGTERM every node this script started
#   scripts/cassandra/cassandra.sh status          which nodes run, and their CQL address
#
# Environment: CASSANDRA_VERSION (5.0.8), CASSANDRA_HEAP (512M), CASSANDRA_DIR (node data,
# ~/.local/share/vnetmesh/cassandra), CASSANDRA_CQL_PORT (9042), CASSANDRA_STORAGE_PORT (7000),
# VNETMESH_CACHE (~/.cache/vnetmesh). Needs java and, for the first fetch, mvn
# (scripts/setup-system.sh cassandra). The tests start their own nodes on free ports
# (tests/session/cassandra_server.py) from the same jars, jvm.options and cassandra.yaml.in.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
VERSION=${CASSANDRA_VERSION:-5.0.8}
CACHE=${VNETMESH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vnetmesh}
LIB="$CACHE/cassandra-$VERSION/lib"
DIR=${CASSANDRA_DIR:-${XDG_DATA_HOME:-$HOME/.local/share}/vnetmesh/cassandra}
HEAP=${CASSANDRA_HEAP:-512M}
CQL_PORT=${CASSANDRA_CQL_PORT:-9042}
STORAGE_PORT=${CASSANDRA_STORAGE_PORT:-7000}

die() { echo "cassandra.sh: $*" >&2; exit 1; }

fetch() {
  if [[ -f "$LIB/.complete" ]]; then echo "$LIB"; return; fi
  command -v mvn >/dev/null || die "mvn not found: run scripts/setup-system.sh cassandra"
  mkdir -p "$LIB"
  echo "cassandra.sh: fetching cassandra-all $VERSION from Maven Central into $LIB" >&2
  mvn -q -B -f "$HERE/pom.xml" -Dcassandra.version="$VERSION" dependency:copy-dependencies \
    -DoutputDirectory="$LIB" -DincludeScope=runtime >&2
  ls "$LIB"/cassandra-all-*.jar >/dev/null 2>&1 || die "no cassandra-all jar in $LIB after mvn"
  touch "$LIB/.complete"
  echo "$LIB"
}

render_yaml() {  # node_dir address seeds
  sed -e "s|@NODE_DIR@|$1|g" -e "s|@ADDRESS@|$2|g" -e "s|@SEEDS@|$3|g" \
      -e "s|@CLUSTER@|vnetmesh|g" -e "s|@CQL_PORT@|$CQL_PORT|g" \
      -e "s|@STORAGE_PORT@|$STORAGE_PORT|g" "$HERE/cassandra.yaml.in"
}

cql_ready() {  # address: true when the CQL port accepts a connection
  (exec 3<>"/dev/tcp/$1/$CQL_PORT") 2>/dev/null
}

running() {  # pidfile
  [[ -f "$1" ]] && kill -0 "$(cat "$1")" 2>/dev/null
}

start() {
  local n=${1:-1} lib seeds i addr node opts
  [[ $n =~ ^[1-9]$ ]] || die "node count must be 1..9, got '$n'"
  command -v java >/dev/null || die "java not found: run scripts/setup-system.sh cassandra"
  lib=$(fetch)
  seeds=$(seq -s, -f "127.0.0.%g" 1 "$n")
  mapfile -t opts < <(grep -v -e '^[[:space:]]*#' -e '^[[:space:]]*$' "$HERE/jvm.options")
  for i in $(seq 1 "$n"); do
    addr="127.0.0.$i"; node="$DIR/node$i"
    if running "$node/pid"; then echo "node$i already running ($addr)"; continue; fi
    mkdir -p "$node/data" "$node/commitlog" "$node/saved_caches" "$node/hints" \
             "$node/cdc_raw" "$node/logs"
    render_yaml "$node" "$addr" "$seeds" >"$node/cassandra.yaml"
    setsid java "-Xms$HEAP" "-Xmx$HEAP" "${opts[@]}" \
      "-Dcassandra.config=file://$node/cassandra.yaml" \
      "-Dcassandra.storagedir=$node" "-Dcassandra.logdir=$node/logs" \
      "-Dlogback.configurationFile=file://$HERE/logback.xml" \
      -Dcassandra.skip_wait_for_gossip_to_settle=0 -Dcassandra.ring_delay_ms=1000 \
      -cp "$lib/*" org.apache.cassandra.service.CassandraDaemon \
      </dev/null >"$node/logs/stdout.log" 2>&1 &
    echo $! >"$node/pid"
    echo "node$i starting on $addr (pid $!, log $node/logs/system.log)"
  done
  for i in $(seq 1 "$n"); do
    addr="127.0.0.$i"; node="$DIR/node$i"
    for _ in $(seq 1 240); do
      cql_ready "$addr" && break
      running "$node/pid" || die "node$i exited; see $node/logs/system.log"
      sleep 0.5
    done
    cql_ready "$addr" || die "node$i not answering CQL after 120 s; see $node/logs/system.log"
    echo "node$i ready: CQL at $addr:$CQL_PORT"
  done
}

stop() {
  local pidfile pid
  shopt -s nullglob
  for pidfile in "$DIR"/node*/pid; do
    pid=$(cat "$pidfile")
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid"
      for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
      kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
      echo "stopped $(basename "$(dirname "$pidfile")") (pid $pid)"
    fi
    rm -f "$pidfile"
  done
}

status() {
  local pidfile node addr
  shopt -s nullglob
  for pidfile in "$DIR"/node*/pid; do
    node=$(basename "$(dirname "$pidfile")"); addr="127.0.0.${node#node}"
    if running "$pidfile"; then
      if cql_ready "$addr"; then echo "$node up: CQL at $addr:$CQL_PORT"
      else echo "$node starting (pid $(cat "$pidfile"))"; fi
    else echo "$node down"; fi
  done
}

case "${1:-}" in
  fetch) fetch ;;
  start) start "${2:-1}" ;;
  stop) stop ;;
  status) status ;;
  *) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
