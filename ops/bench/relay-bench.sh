#!/usr/bin/env bash
# Cross-host relay throughput on the multi-host rig (ops/netns/rig.sh, docs/multihost.md): wrk in the client
# namespace against host1's edge, for a service whose backend is on host1's own loopback ("local") and for one
# whose only backend is on host2's loopback, which host1 serves by relay through host2's edge ("relayed"). Both
# backends are nginx answering a fixed 2-byte body, so the origin is never the bottleneck. Rounds alternate
# local/relayed; the report gives the median requests/s of each, their latencies, the CPU each node's JVM spent
# per request (/proc/PID/stat) and relayed/local (goal >= 0.9) twice: as measured, where every namespace shares
# the machine's cores (a relayed request costs two edges' CPU, so on a saturated machine it cannot pass ~0.5),
# and CPU-bound per host (local CPU per request over the busier host's per relayed request): what hosts with
# CPUs of their own would give when the edges' CPU is the limit.
#
#   sudo ops/bench/relay-bench.sh [-d SECS] [-c CONNECTIONS] [-t THREADS] [-r ROUNDS] [-w WARMUP_SECS] [--json FILE]
#
# Defaults: -d 10 -c 32 -t 2 -r 5 -w 30 (warm-up per service: both edges of a relay need their JIT warm).
# Needs what the rig needs (root, iproute2, PostgreSQL, Redis) plus nginx and wrk. Only host1 and host2 run a
# node (host3 would only take CPU). Environment: RIG_PREFIX (default cbbench), JAVA_OPTS (the nodes' JVM flags,
# default -Xms256m -Xmx256m -XX:+UseParallelGC). The rig is torn down on exit.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
rig="$root/ops/netns/rig.sh"
export RIG_PREFIX=${RIG_PREFIX:-cbbench}
export RIG_STATE=${RIG_STATE:-/tmp/$RIG_PREFIX}
# a fixed heap and the throughput collector, as ops/bench/proxy-bench.sh gives its node
export JAVA_OPTS=${JAVA_OPTS:--Xms256m -Xmx256m -XX:+UseParallelGC}
duration=10 connections=32 threads=2 rounds=5 warmup=30 json=""
while [ $# -gt 0 ]; do
  case $1 in
    -d) duration=$2; shift 2 ;;
    -c) connections=$2; shift 2 ;;
    -t) threads=$2; shift 2 ;;
    -r) rounds=$2; shift 2 ;;
    -w) warmup=$2; shift 2 ;;
    --json) json=$2; shift 2 ;;
    *) sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//' >&2; exit 2 ;;
  esac
done
for n in "$duration" "$connections" "$threads" "$rounds" "$warmup"; do
  [[ $n =~ ^[0-9]+$ ]] || { echo "relay-bench: options take whole numbers, got '$n'" >&2; exit 2; }
done
[ "$(id -u)" = 0 ] || { echo "relay-bench: needs root (network namespaces)" >&2; exit 1; }
for tool in nginx wrk; do
  command -v "$tool" >/dev/null || { echo "relay-bench: $tool is not installed (apt-get install $tool)" >&2; exit 1; }
done
[ -f "$root/target/ceiba.jar" ] || (cd "$root" && mvn -q -DskipTests package)

trap '"$rig" down >/dev/null 2>&1 || true' EXIT INT TERM
"$rig" up
"$rig" db-up

# nginx on a host's own loopback: one worker, no access log, a fixed body
origin() {
  local h=$1 port=$2 dir=$RIG_STATE/$1/nginx
  mkdir -p "$dir/tmp"
  cat >"$dir/nginx.conf" <<EOF
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $dir/tmp; proxy_temp_path $dir/tmp; fastcgi_temp_path $dir/tmp;
  uwsgi_temp_path $dir/tmp; scgi_temp_path $dir/tmp;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:$port;
    location / { default_type text/plain; return 200 "$h"; }
  }
}
EOF
  "$rig" exec "$h" nginx -p "$dir" -e "$dir/error.log" -c "$dir/nginx.conf"
}
origin h1 9801
origin h2 9802

registry=$RIG_STATE/registry.yaml
cat >"$registry" <<'EOF'
version: 1
defaults:
  health: { path: /, interval: 2s, timeout: 500ms }
http:
  local:
    hosts: [local.test]
    backends: [{ url: "http://127.0.0.1:9801", node: host1 }]
  relayed:
    hosts: [relayed.test]
    backends: [{ url: "http://127.0.0.1:9802", node: host2 }]
EOF
"$rig" registry "$registry"
for h in h1 h2; do "$rig" node-start "$h"; done
for h in h1 h2; do "$rig" node-wait "$h" 180; done

edge=http://$("$rig" addr h1):8080/
# until host1 relays to host2 (host2 must be in host1's view with its backend up)
for i in $(seq 1 120); do
  body=$("$rig" exec cl curl -s --max-time 2 -H 'Host: relayed.test' "$edge" || true)
  [ "$body" = h2 ] && break
  [ "$i" = 120 ] && { echo "relay-bench: host1 does not relay to host2 after 60 s (last answer: $body)" >&2; exit 1; }
  sleep 0.5
done
[ "$("$rig" exec cl curl -s --max-time 2 -H 'Host: local.test' "$edge")" = h1 ] \
  || { echo "relay-bench: host1 does not serve local.test from its own backend" >&2; exit 1; }

# CPU seconds (user + system) a node's JVM used so far
tck=$(getconf CLK_TCK)
cpu_of() { awk -v t="$tck" '{ printf "%.3f", ($14 + $15) / t }' "/proc/$(cat "$RIG_STATE/$1/node.pid")/stat"; }
# of which system (kernel) time: the network stack's work on the node's behalf
sys_of() { awk -v t="$tck" '{ printf "%.3f", $15 / t }' "/proc/$(cat "$RIG_STATE/$1/node.pid")/stat"; }

# one wrk run: "requests/s p50_ms p99_ms errors host1_cpu_us host2_cpu_us host1_system_us" (CPU per request)
measure() {
  local host=$1 secs=$2 out c1 c2 s1
  c1=$(cpu_of h1) c2=$(cpu_of h2) s1=$(sys_of h1)
  out=$("$rig" exec cl wrk -t "$threads" -c "$connections" -d "${secs}s" --latency -H "Host: $host" "$edge")
  out+=$'\n'"cpu $(awk -v a="$c1" -v b="$(cpu_of h1)" 'BEGIN { print b - a }') $(awk -v a="$c2" -v b="$(cpu_of h2)" 'BEGIN { print b - a }') $(awk -v a="$s1" -v b="$(sys_of h1)" 'BEGIN { print b - a }')"
  awk '
    function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
    /Requests\/sec:/ { rps = $2 }
    /^ +50%/ { p50 = ms($2) }
    /^ +99%/ { p99 = ms($2) }
    /Non-2xx or 3xx responses:/ { errors += $5 }
    /Socket errors:/ { gsub(/,/, ""); errors += $4 + $6 + $8 + $10 }
    / requests in / { total = $1 }
    /^cpu / { cpu1 = $2; cpu2 = $3; sys1 = $4 }
    END {
      per = total ? 1e6 / total : 0
      printf "%.0f %.2f %.2f %d %.0f %.0f %.0f\n", rps, p50, p99, errors, cpu1 * per, cpu2 * per, sys1 * per
    }' <<<"$out"
}

echo "warm-up: ${warmup}s each"
measure local.test "$warmup" >/dev/null
measure relayed.test "$warmup" >/dev/null

declare -a local_rps relayed_rps local_cpu relayed_cpu1 relayed_cpu2
results=()
for r in $(seq 1 "$rounds"); do
  for kind in local relayed; do
    read -r rps p50 p99 errors cpu1 cpu2 sys1 < <(measure "$kind.test" "$duration")
    printf 'round %d %-8s %8s req/s  p50 %6s ms  p99 %6s ms  errors %s  CPU per request: host1 %s µs (system %s), host2 %s µs\n' \
      "$r" "$kind" "$rps" "$p50" "$p99" "$errors" "$cpu1" "$sys1" "$cpu2"
    results+=("$kind $rps $p50 $p99 $errors $cpu1 $cpu2 $sys1")
    if [ "$kind" = local ]; then
      local_rps+=("$rps") local_cpu+=("$cpu1")
    else
      relayed_rps+=("$rps") relayed_cpu1+=("$cpu1") relayed_cpu2+=("$cpu2")
    fi
  done
done

median() { printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
local_median=$(median "${local_rps[@]}")
relayed_median=$(median "${relayed_rps[@]}")
ratio=$(awk -v a="$relayed_median" -v b="$local_median" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
local_cpu_median=$(median "${local_cpu[@]}")
relayed_cpu1_median=$(median "${relayed_cpu1[@]}")
relayed_cpu2_median=$(median "${relayed_cpu2[@]}")
# hosts with CPUs of their own: each request of the relayed service needs host1's and host2's CPU at once, so the
# busier of the two bounds its rate; a local request needs host1's alone
own_cpu_ratio=$(awk -v l="$local_cpu_median" -v a="$relayed_cpu1_median" -v b="$relayed_cpu2_median" \
  'BEGIN { m = (a > b ? a : b); printf "%.2f", (m > 0 ? l / m : 0) }')
echo
echo "host1 serving a local backend:        $local_median req/s (median of $rounds x ${duration}s, $connections connections), host1 CPU $local_cpu_median µs/request"
echo "host1 relaying to host2's backend:    $relayed_median req/s, CPU host1 $relayed_cpu1_median + host2 $relayed_cpu2_median µs/request"
echo "relayed / local, measured:            $ratio (goal >= 0.9; every namespace shares this machine's $(nproc) cores)"
echo "relayed / local, CPU-bound, per host: $own_cpu_ratio (local CPU per request / the busier host's per relayed request)"
if [ -n "$json" ]; then
  printf '{"duration_s": %s, "connections": %s, "threads": %s, "rounds": %s, "local_rps": %s, "relayed_rps": %s, "ratio": %s, "ratio_cpu_per_host": %s, "runs": [%s]}\n' \
    "$duration" "$connections" "$threads" "$rounds" "$local_median" "$relayed_median" "$ratio" "$own_cpu_ratio" \
    "$(printf '%s\n' "${results[@]}" | awk '{ printf "%s{\"kind\": \"%s\", \"rps\": %s, \"p50_ms\": %s, \"p99_ms\": %s, \"errors\": %s, \"cpu_us_host1\": %s, \"cpu_us_host2\": %s, \"system_us_host1\": %s}", (NR > 1 ? ", " : ""), $1, $2, $3, $4, $5, $6, $7, $8 }')" \
    >"$json"
  echo "written: $json"
fi
