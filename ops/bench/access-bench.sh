#!/usr/bin/env bash
# What the access layer and usage recording cost. Four Ceiba nodes share one Redis and the first node's embedded
# Postgres, each serving one kind of traffic from start to end (as a node in steady traffic does, so its JIT
# settles), plus nginx as a proxy; all proxy the same nginx origin:
#   ceiba-public          node bench-public (edge, auth, usage, health, control), public service (Host app.local)
#   ceiba-api-key         node bench-key (the same roles), api-key service (Host api.local, X-API-Key) with a cached
#                         key and a plan with a rate limit and a quota: access check, limits, headers and a usage
#                         event per request
#   ceiba-public-nousage  node nousage-public (the same less the usage role), public service
#   ceiba-key-nousage     node nousage-key (the same less the usage role), api-key service: access without usage
#   nginx                 nginx -> origin
# The targets are measured in pairs, both loads at once (one wrk each), in interleaved rounds. This machine's speed
# drifts by 20-40% for tens of seconds at a time (other tenants on the host); two targets measured one after the
# other, even in alternating rounds, differ by that drift, which is larger than the costs measured here. Two
# targets measured at the same time see the same machine. The pairs and the ratios they give (medians of the
# per-round ratios):
#   both     ceiba-api-key / ceiba-public               issue 4: the access layer with usage, target >= 0.90
#   access   ceiba-key-nousage / ceiba-public-nousage   the access layer alone
#   usage    ceiba-api-key / ceiba-key-nousage          issue 5: usage recording, target >= 0.95
#   control  ceiba-public / ceiba-public-nousage        the same work on two JVMs (the usage role idles without
#                                                       keyed traffic): what remains of the noise
#   nginx    ceiba-public / nginx                       against nginx
# Issue 22 asks for the keyed ratio "both ways": after the pairs, node bench-key serves its public service and its
# api-key service alone, one after the other, in alternating rounds (ALT_ROUNDS, default the -r rounds; 0 skips it):
#   alternating  api.local / app.local on one node, one wrk at a time: the same JVM, JIT and usage role, but each
#                side sees the machine of its own moment (the drift above), and the keyed side's usage work (the
#                spool, the usage role, PostgreSQL's inserts on this machine's cores) competes with its own proxying
#
#   ops/bench/access-bench.sh [-d seconds] [-w warmup] [-W first-warmup] [-r rounds] [-c connections]
#
# -W (default 300): before the first round, each Ceiba target gets that many seconds of load in three interleaved
# slices, under the CPU quota when there is one (the warm-up takes twice -W: two pairs take turns). C2 compiles with
# the quota's CPU too. A keyed JVM has paths that run a few times a second (Redis leases, usage flushes), and they
# reach C2's thresholds only minutes in. With -W 120 (perf, 2026-11-26 09:30) the three lowest ratios of the keyed
# JVM's pairs (0.81, 0.86, 0.88) came in rounds where C2 took 4-15% of its samples; rounds under 1% gave 0.93-1.01.
#
# PROFILE=1 also samples each Ceiba JVM with perf during its measured runs (all get frame pointers and a perf map)
# and prints where each target's CPU per request goes (ops/bench/cpu-breakdown.awk): usage recording, the access layer,
# the rest of the proxy in Java and in the kernel, GC and JIT. PROFILE_KEEP=dir keeps the recordings and perf maps.
# SYSCALLS=1 counts each Ceiba JVM's system calls during its measured runs (perf stat on the syscall tracepoints) and
# prints them per request: on loopback a send also pays for the receiver's TCP work, so a few more sends per request
# show as kernel time.
#
# Needs wrk and nginx (installed from Debian when missing and run as root) and a redis-server: the
# one on PATH, else the Linux binary shipped inside the embedded-redis test artifact in ~/.m2.
# Environment: PORT_BASE (default 29080: origin, nginx proxy, the first node's edge and control, redis, postgres,
# then the other nodes' edge and control ports), EDGE_INSTANCES (2), AUTH_INSTANCES (1), JAVA_OPTS (extra JVM flags
# for the nodes with usage, e.g. a JFR recording).
set -euo pipefail
export PATH="$PATH:/usr/sbin:/sbin"

duration=10 warmup=5 first_warmup=300 rounds=5 conns=50 perf_hz=499
while [ $# -gt 0 ]; do
  case $1 in
    -d) duration=$2; shift 2 ;;
    -w) warmup=$2; shift 2 ;;
    -W) first_warmup=$2; shift 2 ;;
    -r) rounds=$2; shift 2 ;;
    -c) conns=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done

root=$(cd "$(dirname "$0")/../.." && pwd)
jar="$root/target/ceiba.jar"
[ -f "$jar" ] || (cd "$root" && mvn -q -DskipTests package)
base=${PORT_BASE:-29080}
p_origin=$base p_nginx=$((base + 1)) p_redis=$((base + 4)) p_pg=$((base + 5))
# node name, whether it records usage; and the target each serves
nodes=(bench-public:usage bench-key:usage nousage-public:- nousage-key:-)
declare -A served_by=([ceiba-public]=0 [ceiba-api-key]=1 [ceiba-public-nousage]=2 [ceiba-key-nousage]=3)
edge_port() { [ "$1" = 0 ] && echo $((base + 2)) || echo $((base + 4 + 2 * $1)); }
control_port() { echo $(($(edge_port "$1") + 1)); }
work=$(mktemp -d "${TMPDIR:-/tmp}/ceiba-access-bench.XXXXXX")
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
  drop_cgroups
}
trap cleanup EXIT
drop_cgroups() { for dir in "${cgroups[@]}"; do rmdir "$dir" 2>/dev/null || true; done; }

# ------------------------------------------------------------------ tools
missing=()
for c in wrk nginx curl; do command -v "$c" >/dev/null || missing+=("$c"); done
[ -n "${PROFILE:-}${SYSCALLS:-}" ] && ! command -v perf >/dev/null && missing+=(linux-perf)
if [ ${#missing[@]} -gt 0 ]; then
  [ "$(id -u)" = 0 ] || { echo "missing ${missing[*]}; install them or run as root" >&2; exit 1; }
  # keep Debian's maintainer scripts from starting nginx as a service
  policy=""; [ -e /usr/sbin/policy-rc.d ] || { policy=/usr/sbin/policy-rc.d; printf '#!/bin/sh\nexit 101\n' >$policy; chmod +x $policy; }
  apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  [ -n "$policy" ] && rm -f "$policy"
fi
redis_server=$(command -v redis-server || true)
if [ -z "$redis_server" ]; then
  redis_jar=$(ls ~/.m2/repository/com/github/codemonstur/embedded-redis/*/embedded-redis-*.jar 2>/dev/null | grep -v sources | tail -1)
  [ -n "$redis_jar" ] || { echo "no redis-server on PATH and no embedded-redis jar in ~/.m2 (run mvn verify once)" >&2; exit 1; }
  unzip -p "$redis_jar" redis-server-6.2.6-v5-linux-amd64 >"$work/redis-server" && chmod +x "$work/redis-server"
  redis_server="$work/redis-server"
fi

# ------------------------------------------------------------------ CPUs
# PROXY_CPUS=0.5: each proxy under test (nginx as a proxy, each Ceiba node's JVM) may use at most that many CPUs
# (a CFS quota in a cgroup of its own), so the proxy is the bottleneck and wrk, the origin, Redis and PostgreSQL
# have the rest of the machine, as if they were other machines. Without it everything shares all CPUs, and
# PostgreSQL's work for the usage rows takes CPU the edge then lacks.
# PIN=1 (with PROXY_CPUS) also keeps the proxies and the rest apart: every proxy runs on the last CPU, everything
# else (wrk, the origin, Redis, PostgreSQL, this script) on the others. Without it, a proxy's threads share cores
# (and their caches) with whatever else runs, so work done outside the proxy, such as PostgreSQL writing usage rows,
# still makes the proxy's own instructions slower.
cgroups=()
proxy_cpu="" other_cpus=""
if [ -n "${PIN:-}" ]; then
  cpus=$(nproc)
  [ "$cpus" -ge 2 ] || { echo "PIN needs two CPUs or more" >&2; exit 1; }
  proxy_cpu=$((cpus - 1)) other_cpus="0-$((cpus - 2))"
fi
# Everything but the proxies to the other CPUs, once all is started (a JVM sizes its event loops by the CPUs it may
# use when it starts, so it must start with all of them); this script's later children (wrk, curl) inherit it.
pin_others() {  # pid...
  [ -n "$other_cpus" ] || return 0
  local pid; for pid in "$@" $$; do taskset -a -p -c "$other_cpus" "$pid" >/dev/null; done
}
if [ -n "${PROXY_CPUS:-}" ]; then
  [ "$(id -u)" = 0 ] || { echo "PROXY_CPUS needs root (cgroups)" >&2; exit 1; }
  quota=$(awk -v c="$PROXY_CPUS" 'BEGIN{printf "%d", c * 100000}')
  if [ -f /sys/fs/cgroup/cpu/cpu.cfs_quota_us ]; then cg_v1=/sys/fs/cgroup/cpu
  elif grep -qw cpu /sys/fs/cgroup/cgroup.controllers 2>/dev/null; then cg_v2=/sys/fs/cgroup
  else echo "PROXY_CPUS: no cgroup cpu controller found" >&2; exit 1; fi
fi
# Moves the processes (all their threads, and the threads and processes they start later) into a quota of their own,
# and under PIN onto the proxies' CPU; what a JVM forked before (PostgreSQL) stays where it is.
limit_cpu() {  # name pid...
  local pid
  if [ -n "$proxy_cpu" ]; then for pid in "${@:2}"; do taskset -a -p -c "$proxy_cpu" "$pid" >/dev/null; done; fi
  [ -n "${PROXY_CPUS:-}" ] || return 0
  local dir
  if [ -n "${cg_v1:-}" ]; then
    dir="$cg_v1/ceiba-bench-$$-$1"; mkdir -p "$dir"
    echo 100000 >"$dir/cpu.cfs_period_us"; echo "$quota" >"$dir/cpu.cfs_quota_us"
  else
    dir="$cg_v2/ceiba-bench-$$-$1"; mkdir -p "$dir"; echo "$quota 100000" >"$dir/cpu.max"
  fi
  for pid in "${@:2}"; do echo "$pid" >"$dir/cgroup.procs"; done
  cgroups+=("$dir")
}

# ------------------------------------------------------------------ origin, nginx, redis
# origin and proxy are separate nginx instances, so the proxy's CPU figure is the proxy's alone
for role in origin proxy; do
  mkdir -p "$work/$role"
  if [ $role = origin ]; then
    server="server { listen 127.0.0.1:$p_origin; location / { return 200 \"0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789\"; } }"
  else
    server="upstream origin { server 127.0.0.1:$p_origin; keepalive 64; }
  server {
    listen 127.0.0.1:$p_nginx;
    location / {
      proxy_pass http://origin; proxy_http_version 1.1; proxy_set_header Connection \"\";
      proxy_set_header Host \$host; proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
    }
  }"
  fi
  cat >"$work/$role/nginx.conf" <<NGINX
worker_processes 1;
pid $work/$role/nginx.pid;
error_log $work/$role/error.log warn;
daemon off;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  $server
}
NGINX
  nginx -c "$work/$role/nginx.conf" -p "$work/$role" &
  pids+=($!)
done
"$redis_server" --port "$p_redis" --bind 127.0.0.1 --save "" --appendonly no --daemonize no >"$work/redis.log" 2>&1 &
redis_pid=$!
pids+=($redis_pid)

# ------------------------------------------------------------------ ceiba
cat >"$work/registry.yaml" <<YAML
version: 1
http:
  app:
    hosts: [app.local]
    backends: [{ url: "http://127.0.0.1:$p_origin" }]
  api:
    hosts: [api.local]
    backends: [{ url: "http://127.0.0.1:$p_origin" }]
    access: { policy: api-key }
YAML
# PROFILE: frame pointers and a perf map (written at exit) on every node alike, so they stay comparable
jvm_flags="-XX:+UseParallelGC -Xms256m -Xmx256m"
# The perf map names compiled methods only: code inlined into a caller shows as the caller. The methods where usage
# and access begin are kept out of line (a call, about a nanosecond each) so their samples carry their names.
# The edge's methods are named once here: cpu-breakdown.awk counts their samples as usage and access.
syscall_events=raw_syscalls:sys_enter,syscalls:sys_enter_sendto,syscalls:sys_enter_recvfrom,syscalls:sys_enter_writev,syscalls:sys_enter_epoll_pwait2
usage_methods="recordUsage|flushUsage" access_methods="passAccess|setLimitHeaders|bearer"
if [ -n "${PROFILE:-}" ]; then
  jvm_flags="$jvm_flags -XX:+PreserveFramePointer -XX:+UnlockDiagnosticVMOptions -XX:+DumpPerfMapAtExit -XX:CompileCommand=quiet"
  for m in ${usage_methods//|/ } ${access_methods//|/ }; do
    jvm_flags="$jvm_flags -XX:CompileCommand=dontinline,io.ceiba.edge.EdgeVerticle::$m"
  done
  jvm_flags="$jvm_flags -XX:CompileCommand=dontinline,io.ceiba.access.AccessGate::authorize"
fi
await_ready() {  # control-port pid log
  for _ in $(seq 1 240); do
    curl -fsS -o /dev/null "http://127.0.0.1:$1/ready" 2>/dev/null && break
    kill -0 "$2" 2>/dev/null || { cat "$3" >&2; exit 1; }
    sleep 0.25
  done
  curl -fsS "http://127.0.0.1:$1/ready" >/dev/null || { echo "ceiba not ready:" >&2; curl -sS "http://127.0.0.1:$1/ready" >&2; exit 1; }
}
node_pids=()
for i in "${!nodes[@]}"; do
  name=${nodes[$i]%%:*} usage=${nodes[$i]#*:}
  roles="edge, auth, usage, health, control"; extra=${JAVA_OPTS:-}
  [ "$usage" = usage ] || { roles="edge, auth, health, control"; extra=""; }
  # the first node starts the embedded PostgreSQL and runs the migrations; the others use its database
  if [ "$i" = 0 ]; then pg="url: embedded, embedded_port: $p_pg" data=data
  else pg="url: \"postgres://postgres@127.0.0.1:$p_pg/postgres\"" data="data-$name"; fi
  cat >"$work/node-$name.yaml" <<YAML
node: { id: $name }
roles: [$roles]
instances: { edge: ${EDGE_INSTANCES:-2}, auth: ${AUTH_INSTANCES:-1} }
edge: { host: 127.0.0.1, port: $(edge_port "$i"), access_log: false }
control: { host: 127.0.0.1, port: $(control_port "$i"), token: bench-token }
registry: { file: registry.yaml }
postgres: { $pg }
redis: { url: "redis://127.0.0.1:$p_redis" }
data_dir: $data
YAML
  # shellcheck disable=SC2086
  java $jvm_flags $extra -jar "$jar" --config "$work/node-$name.yaml" >"$work/ceiba-$name.log" 2>&1 &
  node_pids[$i]=$!
  pids+=($!)
  await_ready "$(control_port "$i")" "${node_pids[$i]}" "$work/ceiba-$name.log"
done
p_control=$(control_port 0)
api() { curl -fsS -H "authorization: Bearer bench-token" -H 'content-type: application/json' "$@"; }
# a limit and a quota far above what the machine can do: every request is counted, none refused
api -X POST "http://127.0.0.1:$p_control/v1/plans" -d '{"name": "bench", "rate_limit": {"requests": 100000000, "per": "1s"}, "quota": {"requests": 100000000000, "per": "month"}}' >/dev/null
project=$(api -X POST "http://127.0.0.1:$p_control/v1/projects" -d '{"name": "bench"}' | sed 's/.*"id":"\([^"]*\)".*/\1/')
api -X POST "http://127.0.0.1:$p_control/v1/projects/$project/subscriptions" -d '{"plan": "bench"}' >/dev/null
key=$(api -X POST "http://127.0.0.1:$p_control/v1/projects/$project/keys" -d '{"name": "bench"}' | sed 's/.*"key":"\([^"]*\)".*/\1/')
echo "ceiba up: $(for i in "${!nodes[@]}"; do printf '%s (pid %s) ' "${nodes[$i]%%:*}" "${node_pids[$i]}"; done); project $project, key ${key:0:11}…; redis pid $redis_pid"

checks=("$p_nginx app.local")
for i in "${!nodes[@]}"; do checks+=("$(edge_port "$i") app.local" "$(edge_port "$i") api.local"); done
for check in "${checks[@]}"; do
  set -- $check
  status=$(curl -sS -o "$work/check.out" -w '%{http_code}' -H "host: $2" -H "x-api-key: $key" "http://127.0.0.1:$1/")
  [ "$status" = 200 ] || { echo "127.0.0.1:$1 Host $2 answered $status: $(head -c 300 "$work/check.out")" >&2; exit 1; }
done

# ------------------------------------------------------------------ measure
hz=$(getconf CLK_TCK)
ticks() { local t=0 p; for p in "$@"; do [ -r "/proc/$p/stat" ] && t=$((t + $(sed 's/.*) //' "/proc/$p/stat" | awk '{print $12 + $13}'))); done; echo "$t"; }
pg_pids() {  # the embedded PostgreSQL: its postmaster (data under $work) and every backend it forked
  local master; master=$(pgrep -f -- "-D $work/data/postgres" | head -1)
  [ -n "$master" ] && echo "$master $(pgrep -P "$master" | tr '\n' ' ')"
}
nginx_pids="$(cat "$work/proxy/nginx.pid") $(pgrep -P "$(cat "$work/proxy/nginx.pid")" | tr "\n" " ")"
origin_pid=$(cat "$work/origin/nginx.pid")
# shellcheck disable=SC2046
pin_others "$origin_pid" $(pgrep -P "$origin_pid") "$redis_pid" $(pg_pids)
limit_cpu nginx-proxy $nginx_pids
# the JVMs go under their quotas once started; the embedded PostgreSQL, forked by the first before, stays outside
for i in "${!nodes[@]}"; do limit_cpu "ceiba-${nodes[$i]%%:*}" "${node_pids[$i]}"; done
ms() { awk '{ v=$1; if (v ~ /us$/) { sub(/us$/,"",v); v/=1000 } else if (v ~ /ms$/) { sub(/ms$/,"",v) } else if (v ~ /s$/) { sub(/s$/,"",v); v*=1000 } printf "%.2f", v }' <<<"$1"; }
load() {  # seconds url host header [wrk options...]: wrk's report
  local seconds=$1 url=$2 host=$3 header=$4; shift 4
  # capital H: wrk then sends no Host of its own
  local hdr=(-H "Host: $host"); [ -n "$header" ] && hdr+=(-H "$header")
  wrk -t1 -c"$conns" -d"${seconds}s" "$@" "${hdr[@]}" "$url"
}
# Watches the usage buffer while the load runs: prints the sampler's pid. It runs for every target alike and during
# warm-ups too: a scrape costs Ceiba's JVM CPU (~7 ms each) and a curl the machine's, and the first scrapes of a JVM
# that has not served /metrics under load yet change the type profiles of the HTTP codecs it shares with the edge,
# so C2 recompiles them (in the first measured round, before the sampler ran in warm-ups too).
start_sampler() {  # control-port file
  ( while :; do curl -fsS "http://127.0.0.1:$1/metrics" 2>/dev/null | awk '/^ceiba_usage_buffer_depth/{print $2}' >>"$2"; sleep 1; done ) >/dev/null 2>&1 &
  echo $!
}
targets=(ceiba-public ceiba-api-key ceiba-public-nousage ceiba-key-nousage)
host_of() { [[ $1 = *key* ]] && echo api.local || echo app.local; }
header_of() { [[ $1 = *key* ]] && echo "x-api-key: $key" || true; }
url_of() { [ "$1" = nginx ] && echo "http://127.0.0.1:$p_nginx/" || echo "http://127.0.0.1:$(edge_port "${served_by[$1]}")/"; }
pids_of() { [ "$1" = nginx ] && echo "$nginx_pids" || echo "${node_pids[${served_by[$1]}]}"; }
# the samplers: one per Ceiba target of the pair (nginx has no /metrics), the keyed target with usage into $work/depth
start_samplers() {  # depth-file target...: prints the samplers' pids
  local t file
  for t in "${@:2}"; do
    [ "$t" = nginx ] && continue
    file=/dev/null; [ "$t" = ceiba-api-key ] && file=$1
    start_sampler "$(control_port "${served_by[$t]}")" "$file"
  done
}
stop() { local p; for p in "$@"; do kill "$p" 2>/dev/null || true; done; for p in "$@"; do wait "$p" 2>/dev/null || true; done; }
load_pair() {  # seconds depth-file out-a out-b a b [wrk options...]: both loads at once, each with its own wrk, samplers running
  local seconds=$1 depth=$2 out_a=$3 out_b=$4 a=$5 b=$6; shift 6
  local samplers; samplers=$(start_samplers "$depth" "$a" "$b")
  load "$seconds" "$(url_of "$a")" "$(host_of "$a")" "$(header_of "$a")" "$@" >"$out_a" 2>&1 &
  local wa=$!
  load "$seconds" "$(url_of "$b")" "$(host_of "$b")" "$(header_of "$b")" "$@" >"$out_b" 2>&1 &
  wait $wa $! || true
  stop $samplers
}
# Loads two targets at once: first for the warm-up, then measured. Appends a line per target to $work/results:
# "pair round target rps p50_ms p99_ms cpu_us_per_request non2xx cpu_share", and Postgres's CPU per usage row to
# $work/pg when the pair has the keyed target with usage.
measure_pair() {  # pair a b
  local pair=$1 a=$2 b=$3 t
  load_pair "$warmup" /dev/null /dev/null /dev/null "$a" "$b"
  local pg; pg=$(pg_pids)
  # shellcheck disable=SC2046
  local ta0 tb0 g0; ta0=$(ticks $(pids_of "$a")); tb0=$(ticks $(pids_of "$b")); g0=$(ticks $pg)
  local perf_jobs=()
  for t in "$a" "$b"; do
    [ "$t" = nginx ] && continue
    if [ -n "${PROFILE:-}" ]; then
      perf record -F "$perf_hz" -g -p "$(pids_of "$t")" -o "$work/perf-$t.$pair.$r.data" -- sleep "$duration" >/dev/null 2>&1 &
      perf_jobs+=($!)
    fi
    if [ -n "${SYSCALLS:-}" ]; then
      perf stat -x, -e "$syscall_events" -p "$(pids_of "$t")" -o "$work/syscalls-$t.$pair.$r" -- sleep "$duration" >/dev/null 2>&1 &
      perf_jobs+=($!)
    fi
  done
  load_pair "$duration" "$work/depth" "$work/out-a" "$work/out-b" "$a" "$b" --latency
  for t in "${perf_jobs[@]}"; do wait "$t" || true; done
  # shellcheck disable=SC2046
  local ta1 tb1 g1; ta1=$(ticks $(pids_of "$a")); tb1=$(ticks $(pids_of "$b")); g1=$(ticks $pg)
  local side out ticks_used rps reqs p50 p99 non2xx
  for side in a b; do
    if [ $side = a ]; then t=$a ticks_used=$((ta1 - ta0)); else t=$b ticks_used=$((tb1 - tb0)); fi
    out=$(cat "$work/out-$side")
    rps=$(awk '/Requests\/sec/{print $2}' <<<"$out")
    reqs=$(awk '/requests in/{print $1}' <<<"$out")
    [ -n "$rps" ] && [ -n "$reqs" ] || { echo "wrk failed for $t:" >&2; echo "$out" >&2; exit 1; }
    echo "$reqs" >>"$work/requests-$t"
    p50=$(ms "$(awk '$1=="50%"{print $2}' <<<"$out")"); p99=$(ms "$(awk '$1=="99%"{print $2}' <<<"$out")")
    non2xx=$(awk '/Non-2xx/{print $5}' <<<"$out"); non2xx=${non2xx:-0}
    echo "$pair $r $t $rps $p50 $p99 $(awk -v t="$ticks_used" -v n="$reqs" -v hz="$hz" -v d="$duration" -v x="$non2xx" \
      'BEGIN{printf "%.1f %s %.2f", t/hz/n*1e6, x, t/hz/d}')" >>"$work/results"
    if [ "$t" = ceiba-api-key ]; then
      awk -v t=$((g1 - g0)) -v n="$reqs" -v hz="$hz" 'BEGIN{printf "%.1f\n", t/hz/n*1e6}' >>"$work/pg"
    fi
  done
}
# pair:a:b, the ratio is b / a
pairs=(both:ceiba-public:ceiba-api-key access:ceiba-public-nousage:ceiba-key-nousage usage:ceiba-key-nousage:ceiba-api-key
  control:ceiba-public-nousage:ceiba-public nginx:nginx:ceiba-public)
slice=$(( (first_warmup + 2) / 3 ))
if [ "$slice" -gt 0 ]; then
  echo "first warm-up: ${slice}s x 3 per Ceiba target, two at a time" >&2
  for _ in 1 2 3; do
    for pair in ceiba-public:ceiba-api-key ceiba-public-nousage:ceiba-key-nousage; do
      load_pair "$slice" /dev/null /dev/null /dev/null "${pair%%:*}" "${pair#*:}"
    done
  done
fi
: >"$work/results"
for r in $(seq 1 "$rounds"); do
  for p in "${pairs[@]}"; do
    IFS=: read -r pair a b <<<"$p"
    measure_pair "$pair" "$a" "$b"
  done
  echo "round $r/$rounds done" >&2
done

# ------------------------------------------------------------------ alternating rounds on one node
alt_rounds=${ALT_ROUNDS:-$rounds}
: >"$work/alt"
measure_alone() {  # round target(public|keyed): one wrk against node bench-key, nothing else loaded
  local r=$1 kind=$2 host=app.local header="" node=${served_by[ceiba-api-key]}
  [ "$kind" = keyed ] && { host=api.local; header="x-api-key: $key"; }
  local url; url="http://127.0.0.1:$(edge_port "$node")/"
  load "$warmup" "$url" "$host" "$header" >/dev/null 2>&1
  local t0 out t1; t0=$(ticks "${node_pids[$node]}")
  out=$(load "$duration" "$url" "$host" "$header" --latency 2>&1)
  t1=$(ticks "${node_pids[$node]}")
  local rps reqs non2xx; rps=$(awk '/Requests\/sec/{print $2}' <<<"$out"); reqs=$(awk '/requests in/{print $1}' <<<"$out")
  [ -n "$rps" ] && [ -n "$reqs" ] || { echo "wrk failed for $kind on one node:" >&2; echo "$out" >&2; exit 1; }
  non2xx=$(awk '/Non-2xx/{print $5}' <<<"$out")
  echo "$r $kind $rps $(ms "$(awk '$1=="99%"{print $2}' <<<"$out")") $(awk -v t=$((t1 - t0)) -v n="$reqs" -v hz="$hz" 'BEGIN{printf "%.1f", t/hz/n*1e6}') ${non2xx:-0}" >>"$work/alt"
}
for r in $(seq 1 "$alt_rounds"); do
  # the order flips every round, so neither side always runs first after the other's load
  if [ $((r % 2)) = 1 ]; then measure_alone "$r" public; measure_alone "$r" keyed
  else measure_alone "$r" keyed; measure_alone "$r" public; fi
  echo "alternating round $r/$alt_rounds done" >&2
done

median() { sort -n | awk '{a[NR]=$1} END{print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
col() { awk -v p="$1" -v t="$2" -v c="$3" '$1==p && $3==t{print $c}' "$work/results" | median; }  # pair target column
ratios() {  # pair a b: the per-round ratios b / a, in round order
  awk -v p="$1" -v a="$2" -v b="$3" '$1==p && $3==a{x[$2]=$4} $1==p && $3==b{y[$2]=$4} END{for (r = 1; r in x; r++) printf "%.3f\n", y[r]/x[r]}' "$work/results"
}
echo
echo "wrk -t1 -c$conns -d${duration}s per target, two targets at a time, $rounds interleaved rounds, medians; CPU = µs of the proxy's processes per request,"
echo "load = its CPU seconds per second${PROXY_CPUS:+; each proxy limited to $PROXY_CPUS CPUs}${proxy_cpu:+ on CPU $proxy_cpu, the rest on $other_cpus}"
printf '| %-7s | %-20s | %-20s | %9s | %9s | %-13s | %-33s | %9s | %9s | %9s | %9s | %7s |\n' pair a b "a req/s" "b req/s" "b / a" "b / a by round" \
  "a µs/req" "b µs/req" "a p99 ms" "b p99 ms" "a, b load" 
printf '|%s|\n' "---------|----------------------|----------------------|-----------|-----------|---------------|-----------------------------------|-----------|-----------|-----------|-----------|----------"
declare -A ratio
for p in "${pairs[@]}"; do
  IFS=: read -r pair a b <<<"$p"
  ratio[$pair]=$(ratios "$pair" "$a" "$b" | median)
  printf '| %-7s | %-20s | %-20s | %9.0f | %9.0f | **%.3f×** | %-33s | %9.1f | %9.1f | %9.2f | %9.2f | %s, %s |\n' "$pair" "$a" "$b" \
    "$(col "$pair" "$a" 4)" "$(col "$pair" "$b" 4)" "${ratio[$pair]}" "$(ratios "$pair" "$a" "$b" | paste -sd' ')" \
    "$(col "$pair" "$a" 7)" "$(col "$pair" "$b" 7)" "$(col "$pair" "$a" 6)" "$(col "$pair" "$b" 6)" "$(col "$pair" "$a" 9)" "$(col "$pair" "$b" 9)"
done
echo
awk -v r="${ratio[both]}" 'BEGIN{printf "both (issue 4):   api-key = %.3f x public: the access layer with usage costs %.1f%% (target <= 10%%)\n", r, (1-r)*100}'
awk -v r="${ratio[access]}" 'BEGIN{printf "access layer:     key-nousage = %.3f x public-nousage: %.1f%%\n", r, (1-r)*100}'
awk -v r="${ratio[usage]}" -v pg="$(median <"$work/pg")" 'BEGIN{printf "usage (issue 5):  api-key = %.3f x key-nousage: usage recording costs %.1f%% (target <= 5%%); Postgres %.1f us of CPU per usage row\n", r, (1-r)*100, pg}'
awk -v r="${ratio[control]}" 'BEGIN{printf "control:          public = %.3f x public-nousage: the same work on two JVMs at once\n", r}'
awk -v r="${ratio[nginx]}" 'BEGIN{printf "nginx:            ceiba public = %.3f x nginx\n", r}'
if [ -s "$work/alt" ]; then
  alt_ratios=$(awk '$2=="public"{p[$1]=$3} $2=="keyed"{k[$1]=$3} END{for (r = 1; r in p; r++) printf "%.3f\n", k[r]/p[r]}' "$work/alt")
  alt=$(median <<<"$alt_ratios")
  altcol() { awk -v k="$1" -v c="$2" '$2==k{print $c}' "$work/alt" | median; }
  awk -v r="$alt" -v by="$(paste -sd' ' <<<"$alt_ratios")" -v pr="$(altcol public 3)" -v kr="$(altcol keyed 3)" \
    -v pc="$(altcol public 5)" -v kc="$(altcol keyed 5)" -v pp="$(altcol public 4)" -v kp="$(altcol keyed 4)" \
    'BEGIN{printf "alternating:      api-key = %.3f x public on one node, one at a time (rounds: %s); req/s %.0f vs %.0f, µs/req %.1f vs %.1f, p99 ms %.2f vs %.2f\n", r, by, kr, pr, kc, pc, kp, pp}'
  awk '{n += $6} END{if (n) printf "WARNING: %d non-2xx responses in the alternating rounds\n", n}' "$work/alt"
fi
non2xx=$(awk '{n += $8} END{print n + 0}' "$work/results")
[ "$non2xx" = 0 ] || echo "WARNING: $non2xx non-2xx responses"
[ -s "$work/depth" ] && echo "usage buffer depth during keyed runs: max $(sort -n "$work/depth" | tail -1) events (sampled every 1 s)"
sleep 2  # let the usage buffer drain
keyed_control=$(control_port "${served_by[ceiba-api-key]}")
curl -fsS "http://127.0.0.1:$keyed_control/metrics" \
  | grep -E '^ceiba_(auth_decisions_total|ratelimit_decisions_total|usage_events_(written|journaled|dropped)_total|usage_buffer_depth|usage_dead_letters_total)' \
  | grep -v ' 0.0$' || true
curl -fsS "http://127.0.0.1:$keyed_control/metrics" | grep -E '^ceiba_usage_flush_seconds_(count|sum|max)' || true

if [ -n "${SYSCALLS:-}" ]; then
  echo
  echo "system calls per request, all measured runs (perf stat)"
  printf '| %-20s |%s\n' target "$(tr ',' '\n' <<<"$syscall_events" | sed 's/.*sys_enter_\{0,1\}//; s/^$/all/' | awk '{printf " %9s |", $1}')"
  for t in "${targets[@]}"; do
    requests=$(awk '{n += $1} END{print n}' "$work/requests-$t")
    # perf stat -x, lines: count,unit,event,...
    printf '| %-20s |%s\n' "$t" "$(cat "$work/syscalls-$t".* | awk -F, -v n="$requests" -v events="$syscall_events" '
      NF > 3 && $1 ~ /^[0-9]+$/ { c[$3] += $1 }
      END { k = split(events, e, ","); for (i = 1; i <= k; i++) printf " %9.2f |", c[e[i]] / n }')"
  done
fi

# ------------------------------------------------------------------ where the CPU goes (PROFILE=1)
[ -n "${PROFILE:-}" ] || exit 0
# the perf maps of JIT-compiled code are written when the JVMs exit
kill -TERM "${node_pids[@]}"; wait "${node_pids[@]}" 2>/dev/null || true
if [ -n "${PROFILE_KEEP:-}" ]; then  # a directory to keep the recordings in, with the perf maps they need
  mkdir -p "$PROFILE_KEEP" && cp "$work"/perf-*.data "$work"/requests-* "$PROFILE_KEEP"/
  for i in "${!nodes[@]}"; do cp "/tmp/perf-${node_pids[$i]}.map" "$PROFILE_KEEP"/; done
  echo "recordings kept in $PROFILE_KEEP ($(for i in "${!nodes[@]}"; do printf '%s: pid %s ' "${nodes[$i]%%:*}" "${node_pids[$i]}"; done))"
fi
echo
echo "perf, ${perf_hz} samples/s of CPU time, all rounds: µs of the JVM's CPU per request, by the innermost Ceiba frame of each sample"
printf '| %-20s | %7s | %6s | %6s | %6s | %6s | %6s | %6s | %6s |\n' target samples usage access "proxy Java" "proxy kernel" GC JIT total
printf '|%s|\n' "----------------------|---------|--------|--------|--------|--------|--------|--------|--------"
for t in "${targets[@]}"; do
  requests=$(awk '{n += $1} END{print n}' "$work/requests-$t")
  for f in "$work/perf-$t".*.data; do perf script -i "$f" -F comm,tid,ip,sym,dso 2>/dev/null; done \
    | awk -v target="$t" -v hz="$perf_hz" -v requests="$requests" -v usage_methods="$usage_methods" \
        -v access_methods="$access_methods" -f "$root/ops/bench/cpu-breakdown.awk"
done
cat <<'TEXT'
usage: the edge's hand-off (recordUsage, flushUsage), the usage verticle and all else on its event loop (the Postgres
client, its socket I/O); access: authorize, limits, Redis leases, the access headers; proxy: the rest of the JVM's
threads, in Java and in the kernel (system calls, mostly socket I/O). Code inlined into a caller counts as the caller: the methods where
usage and access begin are kept out of line for this (see jvm_flags).
TEXT
# a round in which a JVM's C2 compiles a burst measures the compiler: its ratio is an outlier the median drops
echo
echo "C2's share of each JVM's samples, by pair and round:"
for t in "${targets[@]}"; do
  printf '  %-20s' "$t"
  for f in "$work/perf-$t".*.data; do
    tag=${f#"$work/perf-$t."}
    perf script -i "$f" -F comm 2>/dev/null | awk -v tag="${tag%.data}" '{n++} /C2 Compi/{c++} END{printf " %s %.1f%%", tag, n ? 100 * c / n : 0}'
  done
  echo
done
