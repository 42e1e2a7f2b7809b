#!/usr/bin/env bash
# Start, stop and inspect the 3-node loopback cluster of node-configs/node1.yaml … node3.yaml.
#
#   ops/cluster-local.sh start [node…]    # node1 first (it hosts the embedded PostgreSQL), then the others
#   ops/cluster-local.sh stop [node…]     # SIGTERM, wait for the drain, SIGKILL only if it hangs
#   ops/cluster-local.sh status           # pid, /ready and cluster size per node
#   ops/cluster-local.sh restart [node…]
#
# Run from anywhere; needs target/ceiba.jar (mvn -q -DskipTests package) and curl. Pid files and logs
# go to data/local/. Admin token: $CEIBA_ADMIN_TOKEN, default change-me (as in the node configs).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
jar="$root/target/ceiba.jar"
state="$root/data/local"
token=${CEIBA_ADMIN_TOKEN:-change-me}
all_nodes=(node1 node2 node3)
ready_wait=${READY_WAIT_SECONDS:-90}
stop_wait=${STOP_WAIT_SECONDS:-30}

control_port() { echo $((9090 + ${1#node})); }
pid_of() { [ -f "$state/$1.pid" ] && cat "$state/$1.pid" || true; }
running() { local pid; pid=$(pid_of "$1"); [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; }

wait_ready() {
  local node=$1 port deadline
  port=$(control_port "$node")
  deadline=$((SECONDS + ready_wait))
  until curl -fsS -o /dev/null "http://127.0.0.1:$port/ready" 2>/dev/null; do
    if ! running "$node"; then
      echo "$node exited; last log lines:" >&2
      tail -n 20 "$state/$node.log" >&2
      return 1
    fi
    if [ $SECONDS -ge $deadline ]; then
      echo "$node not ready after ${ready_wait}s (see $state/$node.log)" >&2
      return 1
    fi
    sleep 0.5
  done
  echo "$node ready (control 127.0.0.1:$port)"
}

start_node() {
  local node=$1
  if running "$node"; then
    echo "$node already running (pid $(pid_of "$node"))"
    return 0
  fi
  mkdir -p "$state"
  nohup java -jar "$jar" --config "$root/node-configs/$node.yaml" >"$state/$node.log" 2>&1 &
  echo $! >"$state/$node.pid"
  echo "$node started (pid $!)"
}

stop_node() {
  local node=$1 pid deadline
  pid=$(pid_of "$node")
  if [ -z "$pid" ] || ! kill -0 "$pid" 2>/dev/null; then
    echo "$node not running"
    rm -f "$state/$node.pid"
    return 0
  fi
  kill -TERM "$pid"
  deadline=$((SECONDS + stop_wait))
  while kill -0 "$pid" 2>/dev/null; do
    if [ $SECONDS -ge $deadline ]; then
      echo "$node did not stop within ${stop_wait}s: SIGKILL" >&2
      kill -KILL "$pid" 2>/dev/null || true
      break
    fi
    sleep 0.2
  done
  rm -f "$state/$node.pid"
  echo "$node stopped"
}

status_node() {
  local node=$1 port ready nodes
  port=$(control_port "$node")
  if ! running "$node"; then
    printf '%-6s %-8s\n' "$node" "stopped"
    return 0
  fi
  ready=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/ready" || echo "---")
  nodes=$(curl -s -H "Authorization: Bearer $token" "http://127.0.0.1:$port/v1/cluster" | grep -o '"id":"[^"]*"' | wc -l || true)
  printf '%-6s pid %-8s ready %s  cluster nodes %s\n' "$node" "$(pid_of "$node")" "$ready" "$nodes"
}

cmd=${1:-status}
shift || true
nodes=("$@")
[ ${#nodes[@]} -gt 0 ] || nodes=("${all_nodes[@]}")

case $cmd in
  start)
    [ -f "$jar" ] || { echo "missing $jar: run 'mvn -q -DskipTests package' first" >&2; exit 1; }
    command -v curl >/dev/null || { echo "curl is needed" >&2; exit 1; }
    for node in "${nodes[@]}"; do
      start_node "$node"
      # node1 hosts the embedded PostgreSQL the others use: they start once it is ready
      if [ "$node" = node1 ]; then wait_ready node1; fi
    done
    for node in "${nodes[@]}"; do [ "$node" = node1 ] || wait_ready "$node"; done
    ;;
  stop)
    # reverse order: node1 (the database) last
    for ((i = ${#nodes[@]} - 1; i >= 0; i--)); do stop_node "${nodes[i]}"; done
    ;;
  restart)
    "$0" stop "${nodes[@]}"
    "$0" start "${nodes[@]}"
    ;;
  status)
    for node in "${nodes[@]}"; do status_node "$node"; done
    ;;
  *)
    sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
    ;;
esac
