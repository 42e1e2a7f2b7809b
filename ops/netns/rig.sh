#!/usr/bin/env bash
# The multi-host rig: each Ceiba node on a "host" of its own, a Linux network namespace.
#
#   <prefix>-br           the switch: one bridge (br0), no address; a veth port per host (h1, h2, h3, db, cl)
#   <prefix>-h1 .. -h3    node hosts, eth0 198.18.0.11 .. .13, their own loopback (origins on 127.0.0.1)
#   <prefix>-db           PostgreSQL 198.18.0.2:5432 (database ceiba, trust auth) and Redis 198.18.0.2:6379
#   <prefix>-cl           the clients, eth0 198.18.0.100
# Nothing of the rig lives in the machine's own namespace: every veth is made inside the namespaces.
#
#   rig.sh up                      make the namespaces (removing leftovers of the same prefix first)
#   rig.sh down                    SIGKILL every process in them, delete them and the state folder
#   rig.sh run CMD...              up, CMD with RIG_PREFIX exported, down on any exit
#   rig.sh sweep                   down every cb<pid> rig whose owner process is gone
#   rig.sh status                  namespaces, addresses, processes
#   rig.sh exec HOST CMD...        run CMD in a host (br h1 h2 h3 db cl)
#   rig.sh db-up                   PostgreSQL and Redis in the db namespace
#   rig.sh origin HOST PORT...     an origin answering with its host's name on 127.0.0.1:PORT of HOST
#   rig.sh node-config HOST        write $state/HOST/node.yaml (the rig's standard node config)
#   rig.sh registry FILE           copy FILE to every node host's registry.yaml (hosts share no files)
#   rig.sh node-start HOST         start the node of HOST (target/ceiba.jar) in its namespace
#   rig.sh node-wait HOST [SECS]   until its /ready answers 200, asked from the client namespace
#   rig.sh node-stop HOST          SIGTERM, wait for the exit
#   rig.sh node-kill HOST          SIGKILL (a crash)
#   rig.sh node-reboot HOST        SIGKILL, empty data dir, start again (a host that came back blank)
# Failure injection:
#   rig.sh link HOST down|up       the host's switch port down (a pulled cable: packets vanish) or up
#   rig.sh loss HOST P             drop each packet in or out of the host's eth0 with probability P
#                                  (iptables statistic match; P=0 removes the rule)
#   rig.sh slow HOST RATE|off      token-bucket filter (tc tbf) both ways on the host's link, e.g. 1mbit
#
# Environment: RIG_PREFIX   namespace prefix (default cbrig; the Java harness uses cb<its pid>, which
#                           `sweep` removes once that process is gone)
#              RIG_STATE    state folder (default /tmp/<prefix>): node dirs, logs, database files
#              RIG_JAR      the fat jar (default target/ceiba.jar of this repository)
#              JAVA_OPTS    JVM options of the nodes (default -Xmx256m -XX:+UseSerialGC)
# Needs root, iproute2, iptables, tc, curl, python3, PostgreSQL's server binaries and redis-server.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
prefix=${RIG_PREFIX:-cbrig}
[[ $prefix =~ ^[a-z][a-z0-9]{0,11}$ ]] || { echo "rig: RIG_PREFIX must be 1-12 lowercase letters/digits" >&2; exit 2; }
state=${RIG_STATE:-/tmp/$prefix}
jar=${RIG_JAR:-$root/target/ceiba.jar}
java_opts=${JAVA_OPTS:--Xmx256m -XX:+UseSerialGC}
subnet=198.18.0
node_hosts=(h1 h2 h3)
all_hosts=(br "${node_hosts[@]}" db cl)
token=rig-token

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'; }
die() { echo "rig: $*" >&2; exit 1; }

ns() { echo "$prefix-$1"; }
addr_of() {
  case $1 in
    h[1-9]) echo "$subnet.1${1#h}" ;;
    db) echo "$subnet.2" ;;
    cl) echo "$subnet.100" ;;
    *) die "no address for host '$1'" ;;
  esac
}
node_id() { echo "host${1#h}"; }
known_host() { local h; for h in "${all_hosts[@]}"; do [ "$h" = "$1" ] && return 0; done; die "unknown host '$1' (${all_hosts[*]})"; }
node_host() { [[ $1 =~ ^h[1-3]$ ]] || die "not a node host: '$1' (${node_hosts[*]})"; }
in_ns() { local h=$1; shift; ip netns exec "$(ns "$h")" "$@"; }

# Lowest-risk check that the test range is free in the machine's own namespace.
check_range_free() {
  if ip -4 -o addr show | grep -q " 198\.1[89]\."; then
    die "198.18.0.0/15 is in use in the machine's own namespace; the rig will not overlay it"
  fi
}

# ---- making and removing ------------------------------------------------------------------------

down() {
  local h n pids tries
  for h in "${all_hosts[@]}"; do
    n=$(ns "$h")
    ip netns list | awk '{print $1}' | grep -qx "$n" || continue
    # every process in the namespace was started by this rig (nodes, origins, PostgreSQL, Redis)
    for tries in $(seq 1 50); do
      pids=$(ip netns pids "$n" 2>/dev/null || true)
      [ -z "$pids" ] && break
      # shellcheck disable=SC2086
      kill -KILL $pids 2>/dev/null || true
      sleep 0.1
    done
    ip netns del "$n" 2>/dev/null || true
  done
  rm -rf "$state"
}

up() {
  check_range_free
  down   # idempotent: leftovers of an earlier run with this prefix go first
  trap 'echo "rig: up failed, tearing down" >&2; down' ERR
  mkdir -p "$state"
  chmod 755 "$state"
  local h n
  for h in "${all_hosts[@]}"; do
    n=$(ns "$h")
    ip netns add "$n"
    ip -n "$n" link set lo up
  done
  ip -n "$(ns br)" link add br0 type bridge
  ip -n "$(ns br)" link set br0 up
  for h in "${node_hosts[@]}" db cl; do
    n=$(ns "$h")
    # made inside the host's namespace with its peer inside the bridge's: never in the root namespace
    ip -n "$n" link add eth0 type veth peer name "$h" netns "$(ns br)"
    ip -n "$(ns br)" link set "$h" master br0 up
    ip -n "$n" addr add "$(addr_of "$h")/24" dev eth0
    ip -n "$n" link set eth0 up
    mkdir -p "$state/$h"
  done
  trap - ERR
  echo "rig $prefix up: ${all_hosts[*]} (state $state)"
}

# Rigs named cb<pid> belong to that process; remove those whose owner is gone.
sweep() {
  local p owner
  for p in $(ip netns list | awk '{print $1}' | sed -n 's/^\(cb[0-9]\+\)-[a-z0-9]\+$/\1/p' | sort -u); do
    owner=${p#cb}
    if ! kill -0 "$owner" 2>/dev/null; then
      echo "rig: sweeping $p (owner $owner is gone)"
      RIG_PREFIX=$p RIG_STATE=/tmp/$p "${BASH_SOURCE[0]}" down
    fi
  done
}

status() {
  local h
  for h in "${all_hosts[@]}"; do
    if ip netns list | awk '{print $1}' | grep -qx "$(ns "$h")"; then
      printf '%-4s %-16s %s\n' "$h" "$(in_ns "$h" ip -4 -o addr show dev eth0 2>/dev/null | awk '{print $4}')" \
        "$(ip netns pids "$(ns "$h")" | tr '\n' ' ')"
    else
      printf '%-4s (absent)\n' "$h"
    fi
  done
}

# ---- PostgreSQL and Redis ----------------------------------------------------------------------

pg_bin() {
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  [ -x "$dir/postgres" ] || die "PostgreSQL server binaries not found (apt-get install postgresql)"
  echo "$dir"
}

db_up() {
  local bin dir
  bin=$(pg_bin)
  command -v redis-server >/dev/null || die "redis-server not found (apt-get install redis-server)"
  dir=$state/db/pg
  mkdir -p "$dir"
  chown -R postgres:postgres "$state/db"
  # PostgreSQL refuses to run as root
  in_ns db runuser -u postgres -- "$bin/initdb" -D "$dir" -U postgres --auth=trust -E UTF8 >"$state/db/initdb.log"
  echo "host all all $subnet.0/24 trust" >>"$dir/pg_hba.conf"
  in_ns db runuser -u postgres -- "$bin/pg_ctl" -D "$dir" -l "$state/db/postgres.log" -w -t 60 \
    -o "-c listen_addresses=$(addr_of db) -p 5432 -c unix_socket_directories=$state/db -c fsync=off -c max_connections=200" \
    start >/dev/null
  in_ns db runuser -u postgres -- "$bin/psql" -q -h "$state/db" -U postgres -c "create database ceiba" >/dev/null
  in_ns db redis-server --bind "$(addr_of db)" --port 6379 --save '' --appendonly no --protected-mode no \
    --daemonize yes --dir "$state/db" --pidfile "$state/db/redis.pid" --logfile "$state/db/redis.log"
  local i
  for i in $(seq 1 50); do
    in_ns db redis-cli -h "$(addr_of db)" ping 2>/dev/null | grep -q PONG && break
    [ "$i" = 50 ] && die "redis did not answer within 5 s (see $state/db/redis.log)"
    sleep 0.1
  done
  echo "db up: postgres://postgres@$(addr_of db):5432/ceiba redis://$(addr_of db):6379"
}

# ---- origins and nodes -------------------------------------------------------------------------

origin() {
  local h=$1; shift
  node_host "$h"
  [ $# -gt 0 ] || die "origin: which ports?"
  local log="$state/$h/origin-$(IFS=-; echo "$*").log"
  in_ns "$h" python3 "$root/ops/netns/origin.py" "$(node_id "$h")" "$@" >"$log" 2>&1 </dev/null &
  local i
  for i in $(seq 1 50); do
    grep -q listening "$log" 2>/dev/null && return 0
    sleep 0.1
  done
  die "origin on $h did not start: $(cat "$log")"
}

node_config() {
  local h=$1 members="" m
  node_host "$h"
  for m in "${node_hosts[@]}"; do members+="${members:+, }\"$(addr_of "$m"):5701\""; done
  mkdir -p "$state/$h"
  cat >"$state/$h/node.yaml" <<EOF
# written by ops/netns/rig.sh: node $(node_id "$h") on host $h ($(addr_of "$h"))
node: { id: $(node_id "$h") }
roles: [combined]
instances: { edge: 1 }
edge: { host: 0.0.0.0, port: 8080, advertise: "http://$(addr_of "$h"):8080" }
control: { host: 0.0.0.0, port: 9090, token: "$token" }
cluster:
  enabled: true
  name: $prefix
  host: $(addr_of "$h")
  public_host: $(addr_of "$h")
  port: 5701
  bus_port: 5702
  members: [$members]
registry: { file: registry.yaml, watch_interval: 1s }
postgres: { url: "postgres://postgres@$(addr_of db):5432/ceiba", migrate: true }
redis: { url: "redis://$(addr_of db):6379" }
shutdown: { grace: 5s }
data_dir: data
EOF
}

registry() {
  local file=$1 h
  [ -f "$file" ] || die "no such registry file: $file"
  for h in "${node_hosts[@]}"; do
    mkdir -p "$state/$h"
    cp "$file" "$state/$h/registry.yaml.tmp" && mv "$state/$h/registry.yaml.tmp" "$state/$h/registry.yaml"
  done
}

node_pid() {
  local f=$state/$1/node.pid pid
  [ -f "$f" ] || return 1
  pid=$(<"$f")
  [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || return 1
  echo "$pid"
}

node_start() {
  local h=$1 dir
  node_host "$h"
  dir=$state/$h
  [ -f "$jar" ] || die "$jar is missing (mvn -q -DskipTests package)"
  [ -f "$dir/node.yaml" ] || node_config "$h"
  [ -f "$dir/registry.yaml" ] || die "no registry for $h: rig.sh registry FILE first"
  ! node_pid "$h" >/dev/null || die "node of $h already runs (pid $(node_pid "$h"))"
  [ -f "$dir/node.log" ] && mv "$dir/node.log" "$dir/node.log.1"
  # the shell writes its own pid, then becomes java: the pid file names the JVM itself
  # shellcheck disable=SC2016
  (cd "$dir" && in_ns "$h" sh -c 'echo $$ > node.pid; exec java '"$java_opts"' -jar "$0" --config node.yaml' \
    "$jar" >"$dir/node.log" 2>&1 </dev/null &)
  local i
  for i in $(seq 1 50); do node_pid "$h" >/dev/null && break; sleep 0.1; done
  echo "node $(node_id "$h") started on $h, pid $(node_pid "$h" || echo '?'), log $dir/node.log"
}

node_wait() {
  local h=$1 secs=${2:-60} deadline code
  node_host "$h"
  deadline=$((SECONDS + secs))
  while :; do
    code=$(in_ns cl curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://$(addr_of "$h"):9090/ready" || true)
    [ "$code" = 200 ] && { echo "node $(node_id "$h") ready"; return 0; }
    node_pid "$h" >/dev/null || die "node of $h exited: $(tail -n 20 "$state/$h/node.log")"
    [ "$SECONDS" -ge "$deadline" ] && die "node of $h not ready after ${secs}s (last /ready: $code)"
    sleep 0.2
  done
}

node_signal() {
  local h=$1 sig=$2 pid i
  node_host "$h"
  pid=$(node_pid "$h") || { echo "node of $h is not running"; return 0; }
  kill "-$sig" "$pid"
  for i in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then
    echo "node of $h still runs 30 s after SIG$sig; SIGKILL" >&2
    kill -KILL "$pid"
  fi
  rm -f "$state/$h/node.pid"
}

node_reboot() {
  local h=$1
  node_signal "$h" KILL
  rm -rf "$state/$h/data"
  node_start "$h"
}

# ---- failure injection -------------------------------------------------------------------------

link() {
  local h=$1 how=${2:-}
  [[ $h =~ ^(h[1-3]|db|cl)$ ]] || die "link: unknown host '$h'"
  [[ $how =~ ^(up|down)$ ]] || die "link $h up|down"
  ip -n "$(ns br)" link set "$h" "$how"
}

loss() {
  local h=$1 p=${2:-}
  [[ $h =~ ^(h[1-3]|db|cl)$ ]] || die "loss: unknown host '$h'"
  [[ $p =~ ^(0|0?\.[0-9]+|1(\.0+)?)$ ]] || die "loss $h P: P is a probability from 0 to 1, got '$p'"
  in_ns "$h" iptables -w -N RIGLOSS 2>/dev/null || in_ns "$h" iptables -w -F RIGLOSS
  in_ns "$h" iptables -w -C INPUT -i eth0 -j RIGLOSS 2>/dev/null || in_ns "$h" iptables -w -A INPUT -i eth0 -j RIGLOSS
  in_ns "$h" iptables -w -C OUTPUT -o eth0 -j RIGLOSS 2>/dev/null || in_ns "$h" iptables -w -A OUTPUT -o eth0 -j RIGLOSS
  if [ "$p" != 0 ]; then
    in_ns "$h" iptables -w -A RIGLOSS -m statistic --mode random --probability "$p" -j DROP
  fi
}

slow() {
  local h=$1 rate=${2:-}
  [[ $h =~ ^(h[1-3]|db|cl)$ ]] || die "slow: unknown host '$h'"
  if [ "$rate" = off ]; then
    in_ns "$h" tc qdisc del dev eth0 root 2>/dev/null || true
    in_ns br tc qdisc del dev "$h" root 2>/dev/null || true
    return 0
  fi
  [[ $rate =~ ^[0-9]+(kbit|mbit|gbit)$ ]] || die "slow $h RATE|off: RATE like 1mbit, got '$rate'"
  # both ways: the host's sending side and the switch port's sending side towards the host
  in_ns "$h" tc qdisc replace dev eth0 root tbf rate "$rate" burst 32kbit latency 400ms
  in_ns br tc qdisc replace dev "$h" root tbf rate "$rate" burst 32kbit latency 400ms
}

# ---- commands ----------------------------------------------------------------------------------

[ $# -gt 0 ] || { usage; exit 2; }
cmd=$1; shift
case $cmd in
  up | down | sweep | status | db-up) [ "$(id -u)" = 0 ] || die "needs root (ip netns)" ;;
esac
case $cmd in
  up) up ;;
  down) down ;;
  run)
    [ $# -gt 0 ] || die "run CMD..."
    up
    trap down EXIT INT TERM
    RIG_PREFIX=$prefix RIG_STATE=$state "$@"
    ;;
  sweep) sweep ;;
  status) status ;;
  exec) h=${1:-}; known_host "$h"; shift; in_ns "$h" "$@" ;;
  addr) addr_of "${1:-}" ;;
  db-up) db_up ;;
  origin) origin "$@" ;;
  node-config) node_config "${1:-}" ;;
  registry) registry "${1:-}" ;;
  node-start) node_start "${1:-}" ;;
  node-wait) node_wait "$@" ;;
  node-stop) node_signal "${1:-}" TERM ;;
  node-kill) node_signal "${1:-}" KILL ;;
  node-reboot) node_reboot "${1:-}" ;;
  link) link "$@" ;;
  loss) loss "$@" ;;
  slow) slow "$@" ;;
  help | -h | --help) usage ;;
  *) usage >&2; exit 2 ;;
esac
