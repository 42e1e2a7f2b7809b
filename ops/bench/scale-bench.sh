#!/usr/bin/env bash
# Scale benchmark of one Ceiba node (roles edge + health, no cluster, access log off, JVM flags as
# ops/bench/proxy-bench.sh: -XX:+UseParallelGC -Xms256m -Xmx256m), with nginx as a proxy measured in the same run
# for the ratios. Loopback only. Three sections, all by default, or the ones named:
#
#   --conns      9,500 idle keep-alive connections held (each sent one request and read its answer, then idle;
#                ops/bench/hold-conns.py) while wrk -c500 drives the active ones; RSS of the proxy after start,
#                after warm-up, with the idle connections held, at its peak (VmHWM) and after they closed; held
#                connections checked (none closed by the server, every one answers a second request at the end);
#                req/s and p99 of the active ones. Against Ceiba and against nginx.
#   --instances  req/s, p99 and CPU µs per request of one node with instances.edge 1, 2 and 4 (three nodes
#                started side by side, interleaved rounds).
#   --bodies     1 MB response bodies (GET of a 1 MiB static file) and 1 MB request bodies (POST to sink-origin.py, which
#                reads the body whole, then answers 200) through Ceiba and through nginx, in interleaved rounds;
#                payload bytes per second and the ratio to nginx.
#
#   ops/bench/scale-bench.sh [--conns] [--instances] [--bodies] [-d SECS] [-w SECS] [-r ROUNDS]
#                            [--idle N] [--active N] [--nmt] [--keep]
#
#   -d  measured seconds per run (10)      -w  warm-up seconds before each run (5)     -r  rounds (3)
#   --idle  idle connections held (9500)   --active  wrk connections in --conns (500)
#   --nmt   start the --conns node with -XX:NativeMemoryTracking=summary and print `jcmd PID VM.native_memory`
#           at the peak
#   --keep  keep the work dir (configs, logs, raw wrk output)
#
# Environment: PORT_BASE (25180: the origin; nginx proxies on +1 (default buffering) and +2 (streaming), the sink origin on +3),
# CEIBA_PORT (25190: the node of --conns and --bodies; --instances uses +10, +20, +40, control port +1 each; all below the ephemeral port range, which 10k client sockets use),
# EDGE_INSTANCES (2: the edge instances of the --conns/--bodies node; nginx runs 2 workers), JAVA_OPTS (extra JVM
# flags), BODY_CONNS (16: wrk connections of --bodies), INSTANCE_CONNS (50: wrk connections of --instances).
# The edge's listener is configured as an operator expecting 10k clients would: edge.max_connections 12000 (the
# default 10000 leaves no headroom over 9,500 + 500) and edge.idle_timeout 300s (the default 60s would close held
# connections before a long run ends). The open-file limit is raised to 65536 (or the hard limit) for this shell.
set -euo pipefail
export PATH="$PATH:/usr/sbin:/sbin"

root=$(cd "$(dirname "$0")/../.." && pwd)
jar="$root/target/ceiba.jar"
holder="$root/ops/bench/hold-conns.py"
sections=() duration=10 warmup=5 rounds=3 idle=9500 active=500 nmt=0 keep=0
usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit "${1:-0}"; }
while [ $# -gt 0 ]; do
  case $1 in
    --conns|--instances|--bodies) sections+=("${1#--}"); shift ;;
    -d) duration=${2:?}; shift 2 ;;
    -w) warmup=${2:?}; shift 2 ;;
    -r) rounds=${2:?}; shift 2 ;;
    --idle) idle=${2:?}; shift 2 ;;
    --active) active=${2:?}; shift 2 ;;
    --nmt) nmt=1; shift ;;
    --keep) keep=1; shift ;;
    -h|--help) usage 0 ;;
    *) echo "scale-bench: unknown option $1" >&2; usage 2 >&2 ;;
  esac
done
[ ${#sections[@]} -gt 0 ] || sections=(conns instances bodies)
for n in "$duration" "$warmup" "$rounds" "$idle" "$active"; do
  [[ $n =~ ^[0-9]+$ ]] || { echo "scale-bench: options take whole numbers, got '$n'" >&2; exit 2; }
done
[ "$duration" -gt 0 ] && [ "$rounds" -gt 0 ] && [ "$active" -ge 2 ] && [ "$idle" -le 50000 ] ||
  { echo "scale-bench: -d, -r must be > 0, --active >= 2, --idle <= 50000" >&2; exit 2; }
for tool in wrk nginx python3 curl ss; do
  command -v "$tool" >/dev/null || { echo "scale-bench: $tool is not installed" >&2; exit 1; }
done
[ -f "$jar" ] || (cd "$root" && mvn -q -o -DskipTests package)

ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
need_fds=$((idle + active + 1000))
[ "$(ulimit -n)" -ge "$need_fds" ] || { echo "scale-bench: open-file limit $(ulimit -n) < $need_fds" >&2; exit 1; }

port_base=${PORT_BASE:-25180}
p_origin=$port_base p_nginx=$((port_base + 1)) p_stream=$((port_base + 2)) p_sink=$((port_base + 3))
ceiba_port=${CEIBA_PORT:-25190}
edge_instances=${EDGE_INSTANCES:-2}
body_conns=${BODY_CONNS:-16}
instance_conns=${INSTANCE_CONNS:-50}
host=app.local
HZ=$(getconf CLK_TCK)
work=$(mktemp -d "${TMPDIR:-/tmp}/scale-bench.XXXXXX")
PIDS=()
declare -A NODE_PID
report=$work/report.md
: >"$report"

cleanup() {
  local pid i
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do
    for i in {1..100}; do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  if [ "$keep" = 1 ]; then echo "kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT; trap 'exit 143' TERM

for p in "$p_origin" "$p_nginx" "$p_stream" "$p_sink" "$ceiba_port" $((ceiba_port + 1)); do
  ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "scale-bench: port $p is in use" >&2; exit 1; }
done

# ------------------------------------------------------------------ helpers
kb() { awk -v k="$2" '$1 == k":" { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }   # pid VmRSS|VmHWM -> kB
rss_sum() { local t=0 p; for p in "$@"; do t=$((t + $(kb "$p" "${KEY:-VmRSS}"))); done; echo $((t / 1024)); }  # MB
ticks() { local t=0 p; for p in "$@"; do [ -r "/proc/$p/stat" ] && t=$((t + $(sed 's/.*) //' "/proc/$p/stat" | awk '{print $12 + $13}'))); done; echo "$t"; }
pids_on_port() { ss -Htlnp "sport = :$1" 2>/dev/null | grep -o 'pid=[0-9]*' | cut -d= -f2 | sort -u | tr '\n' ' '; }
wait_url() {  # url pid: up to 60 s for a 2xx
  local i
  for i in $(seq 1 240); do
    [[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 2 -H "Host: $host" "$1") == 2?? ]] && return 0
    kill -0 "$2" 2>/dev/null || break
    sleep 0.25
  done
  echo "scale-bench: no 2xx from $1" >&2; return 1
}

# wrk summary line: requests duration_us p50_us p99_us non2xx socket_errors
cat >"$work/report.lua" <<'EOF'
done = function(s, lat, req)
  local e = s.errors
  io.write(string.format("RESULT %d %d %d %d %d %d\n", s.requests, s.duration,
    lat:percentile(50), lat:percentile(99), e.status, e.connect + e.read + e.write + e.timeout))
end
EOF
{ printf 'wrk.method = "POST"\nwrk.body = string.rep("x", 1048576)\nwrk.headers["Content-Type"] = "application/octet-stream"\n'
  cat "$work/report.lua"; } >"$work/upload.lua"

# run_wrk label url threads conns secs [script] -> prints "RESULT ..." line fields, raw output kept
run_wrk() {
  local out="$work/wrk.$1.$RANDOM.txt"
  wrk -t"$3" -c"$4" -d"$5s" --latency -H "Host: ${HOST_HEADER:-$host}" -s "${6:-$work/report.lua}" "$2" >"$out" 2>&1 || true
  grep '^RESULT' "$out" || { cat "$out" >&2; echo "scale-bench: wrk gave no result for $1" >&2; return 1; }
}

# ------------------------------------------------------------------ origin and nginx proxies
mkdir -p "$work/origin/www" "$work/nginx"
chmod 755 "$work"   # nginx workers (user nobody) read the 1 MiB file
head -c 1048576 /dev/zero | tr '\0' 'b' >"$work/origin/www/1m"
nginx_common() { cat <<EOF
daemon off;
pid $1/nginx.pid;
error_log $1/error.log warn;
worker_rlimit_nofile $(ulimit -n);
EOF
}
nginx_http_common() { cat <<EOF
    access_log off;
    client_body_temp_path $1/body; proxy_temp_path $1/proxy; fastcgi_temp_path $1/fastcgi;
    uwsgi_temp_path $1/uwsgi; scgi_temp_path $1/scgi;
    keepalive_timeout 300s;
    keepalive_requests 1000000;
    client_max_body_size 2m;
EOF
}
cat >"$work/origin/nginx.conf" <<EOF
$(nginx_common "$work/origin")
worker_processes 1;
events { worker_connections 8192; }
http {
$(nginx_http_common "$work/origin")
    sendfile on;
    server {
        listen 127.0.0.1:$p_origin default_server;
        root $work/origin/www;
        location = /1m { default_type application/octet-stream; }
        location / { default_type text/plain; return 200 "scale-bench origin $(printf '%081d' 0)\n"; }
    }
}
EOF
# nginx as the proxy: 2 workers (as the node's edge instances), pooled HTTP/1.1 upstream; port p_nginx with nginx's
# default buffering (proxy_buffering on, proxy_request_buffering on: a request body over client_body_buffer_size,
# 16k, goes to a temp file before it is sent), port p_stream with both off (streams like Ceiba)
proxy_server() {  # port, extra directives
  cat <<EOF
    server {
        listen 127.0.0.1:$1 reuseport;
        location / {
            proxy_pass http://origin;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host \$host;
            proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
            $2
        }
        location = /upload {
            proxy_pass http://sink;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host \$host;
            proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
            $2
        }
    }
EOF
}
cat >"$work/nginx/nginx.conf" <<EOF
$(nginx_common "$work/nginx")
worker_processes $edge_instances;
events { worker_connections 16384; }
http {
$(nginx_http_common "$work/nginx")
    upstream origin {
        server 127.0.0.1:$p_origin;
        keepalive 512;
        keepalive_requests 1000000;
    }
    upstream sink {
        server 127.0.0.1:$p_sink;
        keepalive 512;
        keepalive_requests 1000000;
    }
$(proxy_server "$p_nginx" "# nginx defaults: proxy_buffering on; proxy_request_buffering on;")
$(proxy_server "$p_stream" "proxy_buffering off; proxy_request_buffering off;")
}
EOF
python3 "$root/ops/bench/sink-origin.py" --port "$p_sink" >"$work/sink.log" 2>&1 &
PIDS+=($!); sink_pid=$!
nginx -p "$work/origin/" -c "$work/origin/nginx.conf" -e "$work/origin/error.log" >"$work/origin.log" 2>&1 &
PIDS+=($!); origin_pid=$!
nginx -p "$work/nginx/" -c "$work/nginx/nginx.conf" -e "$work/nginx/error.log" >"$work/nginx.log" 2>&1 &
PIDS+=($!); nginx_pid=$!
wait_url "http://127.0.0.1:$p_origin/" "$origin_pid"
wait_url "http://127.0.0.1:$p_sink/" "$sink_pid"
wait_url "http://127.0.0.1:$p_nginx/" "$nginx_pid"
wait_url "http://127.0.0.1:$p_stream/" "$nginx_pid"
nginx_pids() { echo "$nginx_pid $(pgrep -P "$nginx_pid" | tr '\n' ' ')"; }

# ------------------------------------------------------------------ Ceiba nodes
start_node() {  # name edge_instances port [extra JVM flags...]: writes its configs, starts it, waits for a 2xx
  local name=$1 n=$2 port=$3 dir=$work/$1; shift 3
  mkdir -p "$dir"
  cat >"$dir/registry.yaml" <<YAML
version: 1
http:
  app:
    hosts: [$host]
    backends:
      - { url: "http://127.0.0.1:$p_origin" }
    health: { path: /, interval: 2s, timeout: 500ms }
  sink:
    hosts: [sink.local]
    backends:
      - { url: "http://127.0.0.1:$p_sink" }
    health: { path: /, interval: 2s, timeout: 500ms }
YAML
  # max_connections and idle_timeout: set as an operator expecting 10k mostly idle clients would (see the header)
  cat >"$dir/node.yaml" <<YAML
node: { id: $name }
roles: [edge, health]
instances: { edge: $n }
edge: { host: 127.0.0.1, port: $port, access_log: false, max_connections: 12000, idle_timeout: 300s }
control: { host: 127.0.0.1, port: $((port + 1)) }
registry: { file: registry.yaml }
data_dir: data
YAML
  # shellcheck disable=SC2086
  java -XX:+UseParallelGC -Xms256m -Xmx256m ${JAVA_OPTS:-} "$@" -jar "$jar" --config "$dir/node.yaml" >"$dir/ceiba.log" 2>&1 &
  PIDS+=($!); NODE_PID[$name]=$!
  wait_url "http://127.0.0.1:$port/" "${NODE_PID[$name]}"
}
stop_node() {
  local pid=${NODE_PID[$1]} i
  kill -TERM "$pid" 2>/dev/null || true
  for i in {1..150}; do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ a[NR] = $1 } END { print NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

{
  echo "# Ceiba scale benchmark, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo
  echo "nproc $(nproc), $(awk -F': ' '/model name/{print $2; exit}' /proc/cpuinfo); $(wrk -v 2>&1 | awk 'NR==1{print $1, $2}'), $(nginx -v 2>&1 | sed 's|.*: ||'), $(java -version 2>&1 | head -1)"
  echo "JVM: -XX:+UseParallelGC -Xms256m -Xmx256m ${JAVA_OPTS:-}; edge.max_connections 12000, edge.idle_timeout 300s, access log off"
  echo "WARNING: absolute figures on a shared machine are noisy; compare the ratios taken in this run"
} >>"$report"

# ------------------------------------------------------------------ section: connections
# phase name url pids...: RSS before/held/peak/after around idle connections held + wrk -c$active
conns_phase() {
  local name=$1 url=$2 port; shift 2
  local pids=("$@") probe_pid="" r_start r_warm r_held r_peak r_after line held status probe res sampler metric=""
  port=$(sed -E 's|.*:([0-9]+)/.*|\1|' <<<"$url")
  r_start=$(rss_sum "${pids[@]}")
  run_wrk "$name-warm" "$url" 2 "$active" "$warmup" >/dev/null
  sleep 1
  r_warm=$(rss_sum "${pids[@]}")
  echo "  $name: opening $idle idle connections" >&2
  coproc HOLD { exec python3 "$holder" --port "$port" --host "$host" --count "$idle"; }
  read -r -t 300 line <&"${HOLD[0]}"; held=$line
  echo "  $name: $held" >&2
  r_held=$(rss_sum "${pids[@]}")
  # RSS sampled every 0.5 s while wrk runs
  ( while :; do rss_sum "${pids[@]}"; sleep 0.5; done ) >"$work/rss.$name" &
  sampler=$!
  if [ "$name" = ceiba ]; then  # the edge's own count of open connections, and NMT, half-way through the wrk run
    ( sleep $((duration / 2 + 1))
      curl -s "http://127.0.0.1:$((port + 1))/metrics" | awk '/^ceiba_listener_connections\{.*listener="edge"/ { print $NF }' | head -1 >"$work/metric"
      [ "$nmt" = 0 ] || jcmd "${pids[0]}" VM.native_memory summary >"$work/nmt.txt" 2>&1 || true ) &
    probe_pid=$!
  fi
  res=$(run_wrk "$name-active" "$url" 2 "$active" "$duration")
  if [ "$name" = ceiba ]; then wait "$probe_pid" || true; metric=$(cat "$work/metric"); fi
  kill "$sampler"; wait "$sampler" 2>/dev/null || true
  echo status >&"${HOLD[1]}"; read -r -t 60 status <&"${HOLD[0]}"
  echo probe >&"${HOLD[1]}"; read -r -t 300 probe <&"${HOLD[0]}"
  echo "  $name: after wrk: $status; $probe; edge connections metric during wrk: ${metric:--}" >&2
  r_peak=$(sort -n "$work/rss.$name" | tail -1)
  [ "$name" = ceiba ] && r_peak=$(( $(KEY=VmHWM rss_sum "${pids[0]}") > r_peak ? $(KEY=VmHWM rss_sum "${pids[0]}") : r_peak ))
  echo quit >&"${HOLD[1]}"; read -r -t 60 line <&"${HOLD[0]}" || true
  wait "$HOLD_PID" 2>/dev/null || true
  sleep 5
  r_after=$(rss_sum "${pids[@]}")
  # name start warm held peak after | held-line | status | probe | wrk RESULT fields
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$r_start" "$r_warm" "$r_held" "$r_peak" "$r_after" \
    "$held" "$status" "$probe" "${metric:--}" "$res" >>"$work/conns.tsv"
}

section_conns() {
  echo "== connections: $idle idle + wrk -t2 -c$active" >&2
  : >"$work/conns.tsv"
  local extra=()
  [ "$nmt" = 0 ] || extra=(-XX:NativeMemoryTracking=summary)
  start_node conns "$edge_instances" "$ceiba_port" "${extra[@]}"
  conns_phase ceiba "http://127.0.0.1:$ceiba_port/" "${NODE_PID[conns]}"
  stop_node conns
  # shellcheck disable=SC2046
  conns_phase nginx "http://127.0.0.1:$p_nginx/" $(nginx_pids)
  {
    echo
    echo "## Connections: $idle idle keep-alive connections held + wrk -t2 -c$active -d${duration}s (after ${warmup}s warm-up)"
    echo
    echo "RSS in MB (Ceiba: the JVM's VmRSS, peak = the larger of VmHWM and the samples taken every 0.5 s during wrk;"
    echo "nginx: the sum over master and workers). Held: idle connections open after wrk (none closed by the server) and"
    echo "answering a second request at the end."
    echo
    echo "| proxy | RSS after start | after warm-up | idle held | peak | after close | held after wrk | 2nd request ok | active req/s | p50 ms | p99 ms | non-2xx | socket errors |"
    echo "|---|---:|---:|---:|---:|---:|---|---|---:|---:|---:|---:|---:|"
    awk -F'\t' '{ split($11, w, " ")
      printf "| %s | %d | %d | %d | %d | %d | %s | %s | %.0f | %.2f | %.2f | %d | %d |\n", $1, $2, $3, $4, $5, $6,
        $8, $9, w[2] / (w[3] / 1e6), w[4] / 1000, w[5] / 1000, w[6], w[7] }' "$work/conns.tsv"
    awk -F'\t' '$1 == "ceiba" { printf "\nceiba_listener_connections{listener=\"edge\"} during wrk: %s\n", $10 }' "$work/conns.tsv"
    awk -F'\t' '{ split($11, w, " "); v[$1] = w[2] / (w[3] / 1e6); p[$1] = w[5]; r[$1] = $5 }
      END { if (v["nginx"] > 0) printf "\nCeiba/nginx: req/s %.2f, p99 %.2f, peak RSS %.2f. Goal: Ceiba peak RSS <= 300 MB: %s\n",
        v["ceiba"] / v["nginx"], p["ceiba"] / p["nginx"], r["ceiba"] / r["nginx"], (r["ceiba"] <= 300 ? "met" : "NOT met") }' "$work/conns.tsv"
    # for ops/bench/goals.sh: goal|value|target ("-": reported, no target)
    awk -F'\t' '{ split($11, w, " "); v[$1] = w[2] / (w[3] / 1e6); p[$1] = w[5]; r[$1] = $5 }
      END { printf "GOAL|%d connections held: Ceiba peak RSS, MB|%d|<= 300\n", '"$idle"' + '"$active"', r["ceiba"]
            if (v["nginx"] > 0) printf "GOAL|%d connections held: active req/s ×nginx, p99 ms (×nginx)|%.2f, %.1f ms (%.2f×)|-\n",
              '"$idle"' + '"$active"', v["ceiba"] / v["nginx"], p["ceiba"] / 1000, p["ceiba"] / p["nginx"] }' "$work/conns.tsv"
    if [ -s "$work/nmt.txt" ]; then
      echo; echo '```'; grep -E '^(Total|-| +\((reserved|malloc|mmap)|Native)' "$work/nmt.txt" | grep -E 'Total|^-' | head -30; echo '```'
    fi
  } >>"$report"
}

# ------------------------------------------------------------------ section: edge instances
section_instances() {
  echo "== edge instances 1, 2, 4: wrk -t1 -c$instance_conns" >&2
  local n r res t0 t1 s0 s1 port
  : >"$work/instances.tsv"
  for n in 1 2 4; do
    start_node "edge$n" "$n" $((ceiba_port + 10 * n))
    run_wrk "edge$n-warm" "http://127.0.0.1:$((ceiba_port + 10 * n))/" 1 "$instance_conns" $((warmup * 2)) >/dev/null
  done
  for r in $(seq 1 "$rounds"); do
    for n in 1 2 4; do
      port=$((ceiba_port + 10 * n))
      run_wrk "edge$n-w$r" "http://127.0.0.1:$port/" 1 "$instance_conns" "$warmup" >/dev/null
      s0=$(ticks "${NODE_PID[edge$n]}"); t0=$(date +%s%N)
      res=$(run_wrk "edge$n-$r" "http://127.0.0.1:$port/" 1 "$instance_conns" "$duration")
      t1=$(date +%s%N); s1=$(ticks "${NODE_PID[edge$n]}")
      awk -v n="$n" -v r="$r" -v ticks=$((s1 - s0)) -v hz="$HZ" -v sec="$(( (t1 - t0) / 1000000 ))" '{
        rps = $2 / ($3 / 1e6); cpu = ticks / hz
        printf "%s\t%s\t%.1f\t%d\t%d\t%.2f\t%.1f\t%d\t%d\n", n, r, rps, $4, $5, cpu / (sec / 1000), cpu / $2 * 1e6, $6, $7 }' <<<"$res" |
        tee -a "$work/instances.tsv" | awk -F'\t' '{ printf "  round %s edge %s: %.0f req/s p99 %.2f ms, %.2f cores, %.1f µs/req\n", $2, $1, $3, $5 / 1000, $6, $7 }' >&2
    done
  done
  for n in 1 2 4; do stop_node "edge$n"; done
  {
    echo
    echo "## Edge instances: one node, instances.edge 1, 2, 4; wrk -t1 -c$instance_conns -d${duration}s, $rounds interleaved rounds, median"
    echo
    echo "| instances.edge | req/s | ×1 instance | p50 ms | p99 ms | node cores | CPU µs/req | req/s per round | errors |"
    echo "|---:|---:|---:|---:|---:|---:|---:|---|---:|"
    local base=""
    for n in 1 2 4; do
      local rps p50 p99 cores cpr list err
      rps=$(awk -F'\t' -v n="$n" '$1 == n { printf "%s ", $3 }' "$work/instances.tsv" | median)
      p50=$(awk -F'\t' -v n="$n" '$1 == n { printf "%s ", $4 / 1000 }' "$work/instances.tsv" | median)
      p99=$(awk -F'\t' -v n="$n" '$1 == n { printf "%s ", $5 / 1000 }' "$work/instances.tsv" | median)
      cores=$(awk -F'\t' -v n="$n" '$1 == n { printf "%s ", $6 }' "$work/instances.tsv" | median)
      cpr=$(awk -F'\t' -v n="$n" '$1 == n { printf "%s ", $7 }' "$work/instances.tsv" | median)
      list=$(awk -F'\t' -v n="$n" '$1 == n { printf "%s%.0f", (c++ ? ", " : ""), $3 }' "$work/instances.tsv")
      err=$(awk -F'\t' -v n="$n" '$1 == n { e += $8 + $9 } END { print e + 0 }' "$work/instances.tsv")
      [ -n "$base" ] || base=$rps
      awk -v n="$n" -v rps="$rps" -v base="$base" -v p50="$p50" -v p99="$p99" -v cores="$cores" -v cpr="$cpr" -v list="$list" -v err="$err" \
        'BEGIN { printf "| %d | %.0f | %.2f | %.2f | %.2f | %.2f | %.1f | %s | %d |\n", n, rps, rps / base, p50, p99, cores, cpr, list, err }'
    done
    echo
    echo "On $(nproc) cores shared with wrk (and the origin), more instances than cores add threads, not CPU."
    echo "GOAL|throughput at 1, 2, 4 edge instances, ×1 instance|$(for n in 1 2 4; do
      awk -F'\t' -v n="$n" '$1 == n { printf "%s ", $3 }' "$work/instances.tsv" | median; done | paste -sd' ' |
      awk '{ printf "1.00, %.2f, %.2f (%.0f, %.0f, %.0f req/s)", $2 / $1, $3 / $1, $1, $2, $3 }')|-"
  } >>"$report"
}

# ------------------------------------------------------------------ section: large bodies
section_bodies() {
  echo "== 1 MB bodies: wrk -t1 -c$body_conns" >&2
  local targets=(nginx nginx-stream ceiba) kind r t url script hh pids res s0 s1 t0 t1
  declare -A URL=([nginx]="http://127.0.0.1:$p_nginx" [nginx-stream]="http://127.0.0.1:$p_stream" [ceiba]="http://127.0.0.1:$ceiba_port")
  start_node bodies "$edge_instances" "$ceiba_port"
  : >"$work/bodies.tsv"
  # every target passes the whole body both ways
  for t in "${targets[@]}"; do
    [ "$(curl -s -H "Host: $host" "${URL[$t]}/1m" | wc -c)" = 1048576 ] || { echo "scale-bench: $t does not pass the 1 MiB body" >&2; return 1; }
    [ "$(head -c 1048576 /dev/zero | curl -s -o /dev/null -w '%{http_code}' -H "Host: sink.local" --data-binary @- "${URL[$t]}/upload")" = 200 ] ||
      { echo "scale-bench: $t does not take a 1 MiB request body" >&2; return 1; }
  done
  for r in $(seq 1 "$rounds"); do
    for kind in down up; do
      for t in "${targets[@]}"; do
        if [ "$kind" = down ]; then url="${URL[$t]}/1m" script="$work/report.lua" hh=$host; else url="${URL[$t]}/upload" script="$work/upload.lua" hh=sink.local; fi
        if [ "$t" = ceiba ]; then pids=("${NODE_PID[bodies]}"); else read -ra pids <<<"$(nginx_pids)"; fi
        HOST_HEADER=$hh run_wrk "$t-$kind-w$r" "$url" 1 "$body_conns" "$warmup" "$script" >/dev/null
        s0=$(ticks "${pids[@]}"); t0=$(date +%s%N)
        res=$(HOST_HEADER=$hh run_wrk "$t-$kind-$r" "$url" 1 "$body_conns" "$duration" "$script")
        t1=$(date +%s%N); s1=$(ticks "${pids[@]}")
        awk -v t="$t" -v k="$kind" -v r="$r" -v ticks=$((s1 - s0)) -v hz="$HZ" -v ms="$(( (t1 - t0) / 1000000 ))" '{
          mbs = $2 * 1048576 / ($3 / 1e6) / 1e6; cpu = ticks / hz
          printf "%s\t%s\t%s\t%.1f\t%d\t%d\t%.2f\t%.2f\t%d\t%d\n", k, t, r, mbs, $4, $5, cpu / (ms / 1000), cpu * 1000 / ($2 * 1.048576), $6, $7 }' <<<"$res" |
          tee -a "$work/bodies.tsv" | awk -F'\t' '{ printf "  round %s %-4s %-12s %7.1f MB/s p99 %.1f ms proxy %.2f cores %.2f ms CPU/MB\n", $3, $1, $2, $4, $6 / 1000, $7, $8 }' >&2
      done
    done
  done
  stop_node bodies
  {
    echo
    echo "## 1 MB bodies: wrk -t1 -c$body_conns -d${duration}s (after ${warmup}s warm-up), $rounds interleaved rounds, median"
    echo
    echo "down: GET of a 1 MiB static file (origin nginx, sendfile); up: POST of a 1 MiB body to ops/bench/sink-origin.py,"
    echo "which reads the body whole, drops it and answers 200. MB/s = 10^6 payload bytes per second. nginx: proxy_buffering and proxy_request_buffering on"
    echo "(its defaults: a request body over 16k is written to a temp file before it goes upstream); nginx-stream: both"
    echo "off. Ceiba streams both ways ($edge_instances edge instances; nginx $edge_instances workers)."
    echo
    echo "| direction | proxy | MB/s | ×nginx | ×nginx-stream | p50 ms | p99 ms | proxy cores | proxy CPU ms per MB | MB/s per round | errors |"
    echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---|---:|"
    for kind in down up; do
      local ng ns
      ng=$(awk -F'\t' -v k="$kind" '$1 == k && $2 == "nginx" { printf "%s ", $4 }' "$work/bodies.tsv" | median)
      ns=$(awk -F'\t' -v k="$kind" '$1 == k && $2 == "nginx-stream" { printf "%s ", $4 }' "$work/bodies.tsv" | median)
      for t in "${targets[@]}"; do
        local f=() i
        for i in 4 5 6 7 8; do
          f+=("$(awk -F'\t' -v k="$kind" -v t="$t" -v i="$i" '$1 == k && $2 == t { printf "%s ", $i }' "$work/bodies.tsv" | median)")
        done
        awk -v k="$kind" -v t="$t" -v mbs="${f[0]}" -v ng="$ng" -v ns="$ns" -v p50="${f[1]}" -v p99="${f[2]}" -v cores="${f[3]}" -v cpm="${f[4]}" \
          -v list="$(awk -F'\t' -v k="$kind" -v t="$t" '$1 == k && $2 == t { printf "%s%.0f", (c++ ? ", " : ""), $4 }' "$work/bodies.tsv")" \
          -v err="$(awk -F'\t' -v k="$kind" -v t="$t" '$1 == k && $2 == t { e += $9 + $10 } END { print e + 0 }' "$work/bodies.tsv")" \
          'BEGIN { printf "| %s | %s | %.1f | %.2f | %.2f | %.1f | %.1f | %.2f | %.2f | %s | %d |\n", k, t, mbs, mbs / ng, mbs / ns, p50 / 1000, p99 / 1000, cores, cpm, list, err }'
      done
    done
    echo
    echo "Goal: Ceiba >= 0.9× nginx's bytes per second in each direction."
    for kind in down up; do
      awk -F'\t' -v k="$kind" '$1 == k { v[$2] = v[$2] " " $4 } END { print v["ceiba"] "|" v["nginx"] }' "$work/bodies.tsv" |
        while IFS='|' read -r c n; do
          echo "GOAL|1 MB bodies $kind: bytes/s ×nginx|$(awk -v c="$(tr ' ' '\n' <<<"$c" | median)" -v n="$(tr ' ' '\n' <<<"$n" | median)" 'BEGIN { printf "%.2f", c / n }')|>= 0.9"
        done
    done
  } >>"$report"
}

for s in "${sections[@]}"; do "section_$s"; done
echo >&2
cat "$report"
