#!/usr/bin/env bash
# What the access layer and usage recording cost. Two Ceiba nodes share one Redis and the first node's embedded
# Postgres: node "bench" (edge, auth, usage, health, control) and node "bench-nousage" (the same without the usage
# role, so it records no usage). Both serve the same origin as a public service (Host app.local) and as an api-key
# service with a cached key, a rate limit and a quota (Host api.local, X-API-Key); nginx proxies the same origin.
# Measured with wrk in interleaved rounds in one run:
#   nginx                 nginx -> origin
#   ceiba-public          bench, public service
#   ceiba-api-key         bench, keyed: access check, limits, headers and a usage event per request
#   ceiba-public-nousage  bench-nousage, public service
#   ceiba-key-nousage     bench-nousage, keyed: the same without usage
# Prints medians of requests/s, p50, p99 and CPU µs per request (the proxy's processes; Redis and Postgres
# separately), then the ratios the issues judge, each between two targets of the same JVM where it can be:
# access layer = key-nousage / public-nousage (target >= 0.90), usage = api-key / key-nousage (target >= 0.95),
# and both together = api-key / public (the first node); usage once more as both / access layer, two ratios each
# taken inside one JVM, which cancels what one JVM runs faster than the other.
#
#   ops/bench/access-bench.sh [-d seconds] [-w warmup] [-W first-warmup] [-r rounds] [-c connections]
#
# -W (default 30): before the first round, each Ceiba target gets that many seconds of load in three interleaved
# slices, under the CPU quota when there is one. C2 compiles with the quota's CPU too, and a JVM that meets new load
# (a quota, another service) deoptimizes and recompiles; without this the first rounds measure the compiler.
#
# PROFILE=1 also samples each Ceiba JVM with perf during its measured runs (both get frame pointers and a perf map)
# and prints where each target's CPU per request goes (ops/bench/cpu-breakdown.awk): usage recording, the access layer,
# the rest of the proxy in Java and in the kernel, GC and JIT. PROFILE_KEEP=dir keeps the recordings and perf maps.
# The usage column is the usage cost measured inside one JVM, free of the ~12% by which two JVMs doing the same work differ.
#
# Needs wrk and nginx (installed from Debian when missing and run as root) and a redis-server: the
# one on PATH, else the Linux binary shipped inside the embedded-redis test artifact in ~/.m2.
# Environment: PORT_BASE (default 29080: origin, nginx proxy, ceiba edge, control, redis, postgres, and the
# second node's edge and control on the next ports), EDGE_INSTANCES (2), AUTH_INSTANCES (1), JAVA_OPTS (extra
# JVM flags for node "bench", e.g. a JFR recording).
set -euo pipefail
export PATH="$PATH:/usr/sbin:/sbin"

duration=10 warmup=5 first_warmup=30 rounds=3 conns=50 perf_hz=499
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
p_origin=$base p_nginx=$((base + 1)) p_edge=$((base + 2)) p_control=$((base + 3)) p_redis=$((base + 4))
p_pg=$((base + 5)) p_edge2=$((base + 6)) p_control2=$((base + 7))
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
[ -n "${PROFILE:-}" ] && ! command -v perf >/dev/null && missing+=(linux-perf)
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
cgroups=()
if [ -n "${PROXY_CPUS:-}" ]; then
  [ "$(id -u)" = 0 ] || { echo "PROXY_CPUS needs root (cgroups)" >&2; exit 1; }
  quota=$(awk -v c="$PROXY_CPUS" 'BEGIN{printf "%d", c * 100000}')
  if [ -f /sys/fs/cgroup/cpu/cpu.cfs_quota_us ]; then cg_v1=/sys/fs/cgroup/cpu
  elif grep -qw cpu /sys/fs/cgroup/cgroup.controllers 2>/dev/null; then cg_v2=/sys/fs/cgroup
  else echo "PROXY_CPUS: no cgroup cpu controller found" >&2; exit 1; fi
fi
limit_cpu() {  # name pid...: moves the processes (all their threads, and what they fork later) into a quota of their own
  [ -n "${PROXY_CPUS:-}" ] || return 0
  local dir
  if [ -n "${cg_v1:-}" ]; then
    dir="$cg_v1/ceiba-bench-$$-$1"; mkdir -p "$dir"
    echo 100000 >"$dir/cpu.cfs_period_us"; echo "$quota" >"$dir/cpu.cfs_quota_us"
  else
    dir="$cg_v2/ceiba-bench-$$-$1"; mkdir -p "$dir"; echo "$quota 100000" >"$dir/cpu.max"
  fi
  local pid; for pid in "${@:2}"; do echo "$pid" >"$dir/cgroup.procs"; done
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
cat >"$work/node.yaml" <<YAML
node: { id: bench }
roles: [edge, auth, usage, health, control]
instances: { edge: ${EDGE_INSTANCES:-2}, auth: ${AUTH_INSTANCES:-1} }
edge: { host: 127.0.0.1, port: $p_edge, access_log: false }
control: { host: 127.0.0.1, port: $p_control, token: bench-token }
registry: { file: registry.yaml }
postgres: { url: embedded, embedded_port: $p_pg }
redis: { url: "redis://127.0.0.1:$p_redis" }
data_dir: data
YAML
# PROFILE: frame pointers and a perf map (written at exit) on both nodes alike, so they stay comparable
jvm_flags="-XX:+UseParallelGC -Xms256m -Xmx256m"
# The perf map names compiled methods only: code inlined into a caller shows as the caller. The methods where usage
# and access begin are kept out of line (a call, about a nanosecond each) so their samples carry their names.
# The edge's methods are named once here: cpu-breakdown.awk counts their samples as usage and access.
usage_methods="recordUsage|flushUsage" access_methods="passAccess|setLimitHeaders|bearer"
if [ -n "${PROFILE:-}" ]; then
  jvm_flags="$jvm_flags -XX:+PreserveFramePointer -XX:+UnlockDiagnosticVMOptions -XX:+DumpPerfMapAtExit -XX:CompileCommand=quiet"
  for m in ${usage_methods//|/ } ${access_methods//|/ }; do
    jvm_flags="$jvm_flags -XX:CompileCommand=dontinline,io.ceiba.edge.EdgeVerticle::$m"
  done
  jvm_flags="$jvm_flags -XX:CompileCommand=dontinline,io.ceiba.access.AccessGate::authorize"
fi
java $jvm_flags ${JAVA_OPTS:-} -jar "$jar" --config "$work/node.yaml" >"$work/ceiba.log" 2>&1 &
ceiba_pid=$!
pids+=($ceiba_pid)
await_ready() {  # control-port pid log
  for _ in $(seq 1 240); do
    curl -fsS -o /dev/null "http://127.0.0.1:$1/ready" 2>/dev/null && break
    kill -0 "$2" 2>/dev/null || { cat "$3" >&2; exit 1; }
    sleep 0.25
  done
  curl -fsS "http://127.0.0.1:$1/ready" >/dev/null || { echo "ceiba not ready:" >&2; curl -sS "http://127.0.0.1:$1/ready" >&2; exit 1; }
}
await_ready "$p_control" "$ceiba_pid" "$work/ceiba.log"
# the same node without the usage role, on the first node's database (started once its migrations ran)
sed -e 's/^node: { id: bench }/node: { id: bench-nousage }/' -e 's/usage, //' -e "s/port: $p_edge,/port: $p_edge2,/" \
  -e "s/port: $p_control,/port: $p_control2,/" -e "s|url: embedded, embedded_port: $p_pg|url: \"postgres://postgres@127.0.0.1:$p_pg/postgres\"|" \
  -e 's/^data_dir: data/data_dir: data-nousage/' "$work/node.yaml" >"$work/node-nousage.yaml"
grep -q "bench-nousage" "$work/node-nousage.yaml" && ! grep -q usage, "$work/node-nousage.yaml" || { echo "bad second node config" >&2; exit 1; }
java $jvm_flags -jar "$jar" --config "$work/node-nousage.yaml" >"$work/ceiba-nousage.log" 2>&1 &
nousage_pid=$!
pids+=($nousage_pid)
await_ready "$p_control2" "$nousage_pid" "$work/ceiba-nousage.log"
api() { curl -fsS -H "authorization: Bearer bench-token" -H 'content-type: application/json' "$@"; }
# a limit and a quota far above what the machine can do: every request is counted, none refused
api -X POST "http://127.0.0.1:$p_control/v1/plans" -d '{"name": "bench", "rate_limit": {"requests": 100000000, "per": "1s"}, "quota": {"requests": 100000000000, "per": "month"}}' >/dev/null
project=$(api -X POST "http://127.0.0.1:$p_control/v1/projects" -d '{"name": "bench"}' | sed 's/.*"id":"\([^"]*\)".*/\1/')
api -X POST "http://127.0.0.1:$p_control/v1/projects/$project/subscriptions" -d '{"plan": "bench"}' >/dev/null
key=$(api -X POST "http://127.0.0.1:$p_control/v1/projects/$project/keys" -d '{"name": "bench"}' | sed 's/.*"key":"\([^"]*\)".*/\1/')
status=$(curl -sS -o /dev/null -w '%{http_code}' -H 'host: api.local' -H "x-api-key: $key" "http://127.0.0.1:$p_edge/")
[ "$status" = 200 ] || { echo "keyed request answered $status" >&2; exit 1; }
echo "ceiba up (pid $ceiba_pid, without usage $nousage_pid); project $project, key ${key:0:11}…; redis pid $redis_pid"

for check in "$p_nginx app.local" "$p_edge app.local" "$p_edge api.local" "$p_edge2 app.local" "$p_edge2 api.local"; do
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
limit_cpu nginx-proxy $nginx_pids
# the JVMs go under their quotas once started; the embedded PostgreSQL, forked by the first before, stays outside
limit_cpu ceiba "$ceiba_pid"
limit_cpu ceiba-nousage "$nousage_pid"
ms() { awk '{ v=$1; if (v ~ /us$/) { sub(/us$/,"",v); v/=1000 } else if (v ~ /ms$/) { sub(/ms$/,"",v) } else if (v ~ /s$/) { sub(/s$/,"",v); v*=1000 } printf "%.2f", v }' <<<"$1"; }
load() {  # seconds url host header [wrk options...]: wrk's report
  local seconds=$1 url=$2 host=$3 header=$4; shift 4
  # capital H: wrk then sends no Host of its own
  local hdr=(-H "Host: $host"); [ -n "$header" ] && hdr+=(-H "$header")
  wrk -t1 -c"$conns" -d"${seconds}s" "$@" "${hdr[@]}" "$url"
}
run() {  # name control-port url host header pids... -> "name rps p50 p99 cpu_us redis_us non2xx pg_us"
  local name=$1 control=$2 url=$3 host=$4 header=$5; shift 5
  load "$warmup" "$url" "$host" "$header" >/dev/null 2>&1 || true
  local pg; pg=$(pg_pids)
  local t0 r0 g0; t0=$(ticks "$@"); r0=$(ticks "$redis_pid"); g0=$(ticks $pg)
  # watch the usage buffer while the load runs; the sampler runs for every target alike, since a scrape
  # costs Ceiba's JVM CPU (~7 ms each) and a curl the machine's, which once fell on the keyed runs alone
  local depth=/dev/null; [ "$name" = ceiba-api-key ] && depth="$work/depth"
  ( while :; do curl -fsS "http://127.0.0.1:$control/metrics" 2>/dev/null | awk '/^ceiba_usage_buffer_depth/{print $2}' >>"$depth"; sleep 1; done ) &
  local sampler=$!
  local perf_job=""
  if [ -n "${PROFILE:-}" ] && [[ $name = ceiba-* ]]; then
    perf record -F "$perf_hz" -g -p "$1" -o "$work/perf-$name.$r.data" -- sleep "$duration" >/dev/null 2>&1 &
    perf_job=$!
  fi
  local out; out=$(load "$duration" "$url" "$host" "$header" --latency)
  kill "$sampler" 2>/dev/null; wait "$sampler" 2>/dev/null || true
  [ -z "$perf_job" ] || wait "$perf_job" || true
  local t1 r1 g1; t1=$(ticks "$@"); r1=$(ticks "$redis_pid"); g1=$(ticks $pg)
  local rps reqs p50 p99 non2xx
  rps=$(awk '/Requests\/sec/{print $2}' <<<"$out")
  reqs=$(awk '/requests in/{print $1}' <<<"$out")
  echo "$reqs" >>"$work/requests-$name"
  p50=$(ms "$(awk '$1=="50%"{print $2}' <<<"$out")"); p99=$(ms "$(awk '$1=="99%"{print $2}' <<<"$out")")
  non2xx=$(awk '/Non-2xx/{print $5}' <<<"$out"); non2xx=${non2xx:-0}
  echo "$name $rps $p50 $p99 $(awk -v t=$((t1 - t0)) -v n="$reqs" -v hz="$hz" 'BEGIN{printf "%.1f", t/hz/n*1e6}') $(awk -v t=$((r1 - r0)) -v n="$reqs" -v hz="$hz" 'BEGIN{printf "%.2f", t/hz/n*1e6}') $non2xx $(awk -v t=$((g1 - g0)) -v n="$reqs" -v hz="$hz" 'BEGIN{printf "%.1f", t/hz/n*1e6}')"
}
slice=$(( (first_warmup + 2) / 3 ))
if [ "$slice" -gt 0 ]; then
  echo "first warm-up: ${slice}s x 3 per Ceiba target" >&2
  for _ in 1 2 3; do
    for port in "$p_edge" "$p_edge2"; do
      load "$slice" "http://127.0.0.1:$port/" app.local "" >/dev/null 2>&1 || true
      load "$slice" "http://127.0.0.1:$port/" api.local "x-api-key: $key" >/dev/null 2>&1 || true
    done
  done
fi
: >"$work/results"
for r in $(seq 1 "$rounds"); do
  # nginx's figures come with no /metrics scrape to pay for: the sampler scrapes bench's control port, which nginx's CPU does not include
  run nginx "$p_control" "http://127.0.0.1:$p_nginx/" app.local "" $nginx_pids >>"$work/results"
  run ceiba-public "$p_control" "http://127.0.0.1:$p_edge/" app.local "" "$ceiba_pid" >>"$work/results"
  run ceiba-api-key "$p_control" "http://127.0.0.1:$p_edge/" api.local "x-api-key: $key" "$ceiba_pid" >>"$work/results"
  run ceiba-public-nousage "$p_control2" "http://127.0.0.1:$p_edge2/" app.local "" "$nousage_pid" >>"$work/results"
  run ceiba-key-nousage "$p_control2" "http://127.0.0.1:$p_edge2/" api.local "x-api-key: $key" "$nousage_pid" >>"$work/results"
  echo "round $r/$rounds done" >&2
done

median() { sort -n | awk '{a[NR]=$1} END{print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
col() { awk -v n="$1" -v c="$2" '$1==n{print $c}' "$work/results" | median; }
echo
echo "wrk -t1 -c$conns -d${duration}s, $rounds interleaved rounds, medians; CPU = µs of the proxy's processes per request${PROXY_CPUS:+; each proxy limited to $PROXY_CPUS CPUs}"
printf '| %-20s | %9s | %8s | %8s | %10s | %11s | %11s | %8s | %8s |\n' target "req/s" "p50 ms" "p99 ms" "CPU µs/req" "Redis µs/req" "PG µs/req" "vs nginx" "non-2xx"
printf '|%s|\n' "----------------------|-----------|----------|----------|------------|-------------|-------------|----------|----------"
nginx_rps=$(col nginx 2)
for t in nginx ceiba-public ceiba-api-key ceiba-public-nousage ceiba-key-nousage; do
  rps=$(col $t 2)
  printf '| %-20s | %9.0f | %8.2f | %8.2f | %10.1f | %11.2f | %11.1f | %7.2fx | %8.0f |\n' "$t" "$rps" "$(col $t 3)" "$(col $t 4)" "$(col $t 5)" "$(col $t 6)" \
    "$(col $t 8)" "$(awk -v a="$rps" -v b="$nginx_rps" 'BEGIN{print a/b}')" "$(col $t 7)"
done
pub=$(col ceiba-public 2); keyed=$(col ceiba-api-key 2); bare=$(col ceiba-key-nousage 2); pub2=$(col ceiba-public-nousage 2)
echo
awk -v k="$bare" -v p="$pub2" -v k99="$(col ceiba-key-nousage 4)" -v p99="$(col ceiba-public-nousage 4)" \
  -v kc="$(col ceiba-key-nousage 5)" -v pc="$(col ceiba-public-nousage 5)" \
  'BEGIN{printf "access layer:     key-nousage = %.3f x public-nousage (%.1f%% cost; target <= 10%%), p99 %.2f x; edge CPU %+.1f us/req\n", k/p, (1-k/p)*100, k99/p99, kc-pc}'
awk -v k="$keyed" -v b="$bare" -v kc="$(col ceiba-api-key 5)" -v bc="$(col ceiba-key-nousage 5)" -v pg="$(col ceiba-api-key 8)" \
  'BEGIN{printf "usage recording:  api-key = %.3f x key-nousage (%.1f%% cost; target <= 5%%); edge CPU %+.1f us/req, Postgres %.1f us/req\n", k/b, (1-k/b)*100, kc-bc, pg}'
awk -v k="$keyed" -v p="$pub" -v k99="$(col ceiba-api-key 4)" -v p99="$(col ceiba-public 4)" \
  'BEGIN{printf "both:             api-key = %.3f x public (%.1f%% cost), p99 %.2f x public\n", k/p, (1-k/p)*100, k99/p99}'
# usage again, from two ratios each taken inside one JVM (both / access layer): what one JVM runs faster than the
# other cancels out, unlike in api-key / key-nousage above
awk -v k="$keyed" -v p="$pub" -v b="$bare" -v p2="$pub2" \
  'BEGIN{printf "usage, within each JVM: (api-key / public) / (key-nousage / public-nousage) = %.3f (%.1f%% cost)\n", (k/p)/(b/p2), (1-(k/p)/(b/p2))*100}'
[ -s "$work/depth" ] && echo "usage buffer depth during keyed runs: max $(sort -n "$work/depth" | tail -1) events (sampled every 1 s)"
sleep 2  # let the usage buffer drain
curl -fsS "http://127.0.0.1:$p_control/metrics" \
  | grep -E '^ceiba_(auth_decisions_total|ratelimit_decisions_total|usage_events_(written|journaled|dropped)_total|usage_buffer_depth|usage_dead_letters_total)' \
  | grep -v ' 0.0$' || true
curl -fsS "http://127.0.0.1:$p_control/metrics" | grep -E '^ceiba_usage_flush_seconds_(count|sum|max)' || true

# ------------------------------------------------------------------ where the CPU goes (PROFILE=1)
[ -n "${PROFILE:-}" ] || exit 0
# the perf maps of JIT-compiled code are written when the JVMs exit
kill -TERM "$ceiba_pid" "$nousage_pid"; wait "$ceiba_pid" "$nousage_pid" 2>/dev/null || true
if [ -n "${PROFILE_KEEP:-}" ]; then  # a directory to keep the recordings in, with the perf maps they need
  mkdir -p "$PROFILE_KEEP" && cp "$work"/perf-*.data "$work"/requests-* "/tmp/perf-$ceiba_pid.map" "/tmp/perf-$nousage_pid.map" "$PROFILE_KEEP"/
  echo "recordings kept in $PROFILE_KEEP (node bench: pid $ceiba_pid, bench-nousage: $nousage_pid)"
fi
echo
echo "perf, ${perf_hz} samples/s of CPU time, all rounds: µs of the JVM's CPU per request, by the innermost Ceiba frame of each sample"
printf '| %-20s | %7s | %6s | %6s | %6s | %6s | %6s | %6s | %6s |\n' target samples usage access "proxy Java" "proxy kernel" GC JIT total
printf '|%s|\n' "----------------------|---------|--------|--------|--------|--------|--------|--------|--------"
for t in ceiba-public ceiba-api-key ceiba-public-nousage ceiba-key-nousage; do
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
