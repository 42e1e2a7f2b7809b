#!/usr/bin/env bash
# Start, stop and inspect the 3-node loopback cluster of node-configs/node1.yaml, node2.yaml, node3.yaml.
#
#   ops/cluster-local.sh start   [node...]  node1 first (it hosts the embedded PostgreSQL on
#                                           127.0.0.1:54329), wait for its /ready, then the others
#   ops/cluster-local.sh stop    [node...]  SIGTERM (the node drains and exits 0), wait, then SIGKILL
#                                           that pid only if it hangs; node1 last
#   ops/cluster-local.sh restart [node...]
#   ops/cluster-local.sh status  [node...]  pid, GET /ready status and cluster size (GET /v1/cluster);
#                                           exits 1 unless every listed node runs and is ready
#
# Nodes: node1 node2 node3 (default: all three). Works from any folder; paths are the repository's.
# Builds nothing: needs target/ceiba.jar (mvn -q -DskipTests package), java 17+ and curl.
# Pid files and logs: data/local/<node>.pid and data/local/<node>.log (the previous log: <node>.log.1).
# Node data (node1's embedded PostgreSQL, usage journals, last-known-good registry): data/node1..3.
# Loopback only: edges 127.0.0.1:8081-8083, control 127.0.0.1:9091-9093, cluster membership 5701-5703.
# The cluster is authenticated and encrypted (mutual TLS): its credentials are made by the first node to start, in
# data/cluster-credentials (cluster CA, one certificate per node, cluster.key); delete that folder to start afresh.
#
# Admin token (/v1/*) of the three nodes: CEIBA_ADMIN_TOKEN when set, else one generated at the first start
# into data/local/admin-token (mode 600) and given to every node; the start prints where it is.
#
# Environment: CEIBA_ADMIN_TOKEN  admin token of all three nodes (default: data/local/admin-token)
#              JAVA_OPTS          extra JVM options, e.g. "-Xmx512m"
#              READY_TIMEOUT      seconds to wait for a node's /ready (default 60)
#              STOP_TIMEOUT       seconds to wait for a node to exit after SIGTERM (default 30)
# Other CEIBA_*, DATABASE_URL and REDIS_URL variables reach all three nodes and override their
# configs; the script warns when any is set.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
jar="$root/target/ceiba.jar"
state="$root/data/local"
token_file="$state/admin-token"
token=${CEIBA_ADMIN_TOKEN:-$(cat "$token_file" 2>/dev/null || true)}
ready_timeout=${READY_TIMEOUT:-60}
stop_timeout=${STOP_TIMEOUT:-30}
all_nodes=(node1 node2 node3)

usage() {
  sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'
}

control_port() { echo $((9090 + ${1#node})); }
config_of() { echo "$root/node-configs/$1.yaml"; }
pid_file() { echo "$state/$1.pid"; }

# The pid from the pid file when that process is alive.
alive_pid() {
  local pid
  [ -f "$(pid_file "$1")" ] || return 1
  pid=$(<"$(pid_file "$1")")
  if [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null; then
    echo "$pid"
  else
    return 1
  fi
}

# ... and still runs this node's config (a stale pid file may name a reused pid).
live_pid() {
  local pid args
  pid=$(alive_pid "$1") || return 1
  args=$(ps -o args= -p "$pid" 2>/dev/null) || return 1
  [[ $args == *"node-configs/$1.yaml"* ]] || return 1
  echo "$pid"
}

# No shipped default: a random token, generated once, kept with the cluster's state.
ensure_token() {
  if [ -z "$token" ]; then
    mkdir -p "$state"
    (umask 077 && head -c 32 /dev/urandom | base64 | tr -d '/+=\n' >"$token_file.tmp" && mv "$token_file.tmp" "$token_file")
    token=$(<"$token_file")
    echo "generated the admin token of the local cluster into $token_file"
  fi
  export CEIBA_ADMIN_TOKEN=$token
}

http_code() {
  curl -s -o /dev/null -w '%{http_code}' --max-time 3 "$1" 2>/dev/null || true
}

wait_ready() {
  local node=$1 port deadline
  port=$(control_port "$node")
  deadline=$((SECONDS + ready_timeout))
  until [ "$(http_code "http://127.0.0.1:$port/ready")" = 200 ]; do
    if ! alive_pid "$node" >/dev/null; then
      echo "$node exited during start; last lines of $state/$node.log:" >&2
      tail -n 20 "$state/$node.log" >&2 || true
      return 1
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "$node not ready after ${ready_timeout}s: see $state/$node.log and" \
        "curl -s http://127.0.0.1:$port/ready" >&2
      return 1
    fi
    sleep 1
  done
  echo "$node ready (edge http://127.0.0.1:$((8080 + ${node#node})), control http://127.0.0.1:$port)"
}

start_node() {
  local node=$1 pid port java_opts=()
  if pid=$(live_pid "$node"); then
    echo "$node already running (pid $pid)"
    return 0
  fi
  port=$(control_port "$node")
  if [ "$(http_code "http://127.0.0.1:$port/health")" != 000 ]; then
    echo "$node: 127.0.0.1:$port is answering but not from a node this script started;" \
      "stop that process first" >&2
    return 1
  fi
  if [ "$node" != node1 ] && ! live_pid node1 >/dev/null; then
    echo "warning: node1 (the embedded PostgreSQL) is not running: $node stays unready until it is" >&2
  fi
  mkdir -p "$state"
  [ ! -f "$state/$node.log" ] || mv -f "$state/$node.log" "$state/$node.log.1"
  read -r -a java_opts <<<"${JAVA_OPTS:-}"
  (cd "$root" && exec nohup java ${java_opts[@]+"${java_opts[@]}"} -jar "$jar" --config "$(config_of "$node")" \
    </dev/null >"$state/$node.log" 2>&1) &
  echo $! >"$(pid_file "$node")"
  echo "$node started (pid $!, log $state/$node.log)"
}

stop_node() {
  local node=$1 pid deadline
  if ! pid=$(live_pid "$node"); then
    rm -f "$(pid_file "$node")"
    if [ "$(http_code "http://127.0.0.1:$(control_port "$node")/health")" != 000 ]; then
      echo "$node: no pid file, but 127.0.0.1:$(control_port "$node") answers (started by hand?);" \
        "left alone" >&2
    else
      echo "$node not running"
    fi
    return 0
  fi
  echo "$node: SIGTERM to pid $pid (drains for up to shutdown.grace)"
  kill -TERM "$pid" 2>/dev/null || true
  deadline=$((SECONDS + stop_timeout))
  while kill -0 "$pid" 2>/dev/null; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "$node still running ${stop_timeout}s after SIGTERM: SIGKILL to pid $pid" >&2
      kill -KILL "$pid" 2>/dev/null || true
      sleep 1
      warn_orphan_postgres "$node"
      break
    fi
    sleep 0.5
  done
  rm -f "$(pid_file "$node")"
  echo "$node stopped"
}

# node1's embedded PostgreSQL is a child process and outlives a SIGKILLed JVM (the next start of node1
# takes it over, and a clean stop ends it).
warn_orphan_postgres() {
  local pidfile="$root/data/$1/postgres/postmaster.pid" pg
  [ -f "$pidfile" ] || return 0
  pg=$(head -n 1 "$pidfile")
  if [[ $pg =~ ^[0-9]+$ ]] && kill -0 "$pg" 2>/dev/null; then
    echo "$1's embedded PostgreSQL (pid $pg) is still running: the next start of $1 takes it over;" \
      "to stop it now: kill -INT $pg" >&2
  fi
}

cluster_size() {
  local body
  body=$(curl -fs --max-time 5 -H @- "http://127.0.0.1:$1/v1/cluster" 2>/dev/null \
    <<<"Authorization: Bearer $token") || { echo "?"; return 0; }
  if command -v jq >/dev/null; then
    jq -r '.nodes | length' <<<"$body" 2>/dev/null || echo "?"
  elif [[ $body == *'"nodes"'* ]]; then
    grep -o '"id":"' <<<"$body" | wc -l | tr -d ' '
  else
    echo "?"
  fi
}

status_node() {
  local node=$1 pid port ready
  port=$(control_port "$node")
  if ! pid=$(live_pid "$node"); then
    printf '%-6s  %-8s  %-5s  %s\n' "$node" "-" "-" "stopped"
    return 1
  fi
  ready=$(http_code "http://127.0.0.1:$port/ready")
  printf '%-6s  %-8s  %-5s  %s\n' "$node" "$pid" "$ready" "$(cluster_size "$port")"
  [ "$ready" = 200 ]
}

warn_env() {
  local name found=()
  for name in $(compgen -e); do
    case $name in
      CEIBA_ADMIN_TOKEN | CEIBA_LOG_FORMAT) ;;
      CEIBA_* | DATABASE_URL | REDIS_URL | DB_*) found+=("$name") ;;
    esac
  done
  if [ ${#found[@]} -gt 0 ]; then
    echo "warning: these variables override the configs of all three nodes: ${found[*]}" >&2
  fi
}

cmd=${1:-}
[ $# -eq 0 ] || shift
case $cmd in
  start | stop | restart | status) ;;
  -h | --help | help) usage; exit 0 ;;
  *) usage >&2; exit 2 ;;
esac

# the nodes asked for, in cluster order (node1 first), without duplicates
if [ $# -gt 0 ]; then args=("$@"); else args=("${all_nodes[@]}"); fi
for arg in "${args[@]}"; do
  case " ${all_nodes[*]} " in
    *" $arg "*) ;;
    *) echo "unknown node '$arg' (known: ${all_nodes[*]})" >&2; exit 2 ;;
  esac
done
nodes=()
for node in "${all_nodes[@]}"; do
  case " ${args[*]} " in *" $node "*) nodes+=("$node") ;; esac
done

do_start() {
  local node failed=0 others=()
  if [ ! -f "$jar" ]; then
    echo "$jar is missing: build it first with  mvn -q -DskipTests package" >&2
    exit 1
  fi
  command -v java >/dev/null || { echo "java (17+) is not on PATH" >&2; exit 1; }
  command -v curl >/dev/null || { echo "curl is not on PATH" >&2; exit 1; }
  warn_env
  ensure_token
  for node in "${nodes[@]}"; do
    if [ "$node" = node1 ]; then
      # node2 and node3 use node1's embedded PostgreSQL: they start once it is ready
      start_node node1 || exit 1
      wait_ready node1 || exit 1
    else
      if start_node "$node"; then others+=("$node"); else failed=1; fi
    fi
  done
  for node in ${others[@]+"${others[@]}"}; do
    alive_pid "$node" >/dev/null || continue
    wait_ready "$node" || failed=1
  done
  if [ "$token" = "$(cat "$token_file" 2>/dev/null || true)" ]; then
    echo "admin token (/v1/*): in $token_file   e.g. curl -H \"Authorization: Bearer \$(cat $token_file)\" http://127.0.0.1:9091/v1/cluster"
    echo "console: http://127.0.0.1:9091/console/ (sign in with that token)"
  fi
  return "$failed"
}

do_stop() {
  local i
  # reverse order: node1, which holds the database the others use, goes last
  for ((i = ${#nodes[@]} - 1; i >= 0; i--)); do
    stop_node "${nodes[i]}"
  done
}

case $cmd in
  start) do_start ;;
  stop) do_stop ;;
  restart) do_stop; do_start ;;
  status)
    printf '%-6s  %-8s  %-5s  %s\n' node pid ready "cluster nodes"
    failed=0
    for node in "${nodes[@]}"; do status_node "$node" || failed=1; done
    exit "$failed"
    ;;
esac
