#!/usr/bin/env bash
# What the access log costs, in one run of ../shared/bench/proxy-compare.sh: one Ceiba node with edge.access_log off
# and one with it on (its stdout, where the lines go, redirected to a file as a service manager would), plus an nginx
# proxy with its access log on (default combined format to a file, unbuffered as nginx ships it; proxy-compare's own
# nginx has it off). Each node as in proxy-bench.sh: roles edge + health, EDGE_INSTANCES edge instances, no cluster,
# Host app.local routed to the harness's origin. Prints the harness's tables, then the ratios log on / log off of
# req/s and of proxy CPU per request, for Ceiba and for nginx, and how many lines each wrote.
#
#   ops/bench/accesslog-bench.sh [extra proxy-compare.sh options]     e.g. -d 5 -r 3
#
# Environment: PORT_BASE (origin, default 28380; nginx/haproxy/caddy take the next three), CEIBA_PORT (default 28390:
# log off on it, log on at +10, old jar at +20/+30, nginx with its log at +40; control ports +1), EDGE_INSTANCES (2),
# WARMUP (5), ROUNDS (3), JSON (result file), LOG_FORMAT (text or json: CEIBA_LOG_FORMAT of the nodes),
# OLD_JAR (also run that build, log on and off: before/after in the same run), PREWARM (seconds of wrk per Ceiba node
# before the measured rounds, default 15), NGINX_LOG_BUFFER (e.g. 64k: nginx
# buffers its log as buffer=SIZE flush=1s), KEEP=1 (keep the work dir with the logs), JAVA_OPTS (extra JVM flags).
set -euo pipefail
export PATH="$PATH:/usr/sbin:/sbin"

root=$(cd "$(dirname "$0")/../.." && pwd)
compare="$root/../shared/bench/proxy-compare.sh"
[ -x "$compare" ] || { echo "missing $compare" >&2; exit 1; }
jar="$root/target/ceiba.jar"
[ -f "$jar" ] || (cd "$root" && mvn -q -DskipTests package)
old_jar=${OLD_JAR:+$(realpath "$OLD_JAR")}
[ -z "$old_jar" ] || [ -f "$old_jar" ] || { echo "missing OLD_JAR $OLD_JAR" >&2; exit 1; }

port_base=${PORT_BASE:-28380}
base_port=${CEIBA_PORT:-28390}
nginx_port=$((base_port + 40))
instances=${EDGE_INSTANCES:-2}
work=$(mktemp -d "${TMPDIR:-/tmp}/ceiba-accesslog.XXXXXX")
json=${JSON:-$work/result.json}
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [ "${KEEP:-0}" = 1 ]; then echo "kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT

start_node() { # name jar edge_port access_log
  local name=$1 jar=$2 port=$3 log=$4 dir="$work/$1"
  mkdir -p "$dir"
  cat >"$dir/registry.yaml" <<YAML
version: 1
http:
  app:
    hosts: [app.local]
    backends:
      - { url: "http://127.0.0.1:$port_base" }
    health: { path: /, interval: 2s, timeout: 500ms }
YAML
  cat >"$dir/node.yaml" <<YAML
node: { id: bench-$name }
roles: [edge, health]
instances: { edge: $instances }
edge: { host: 127.0.0.1, port: $port, access_log: $log }
control: { host: 127.0.0.1, port: $((port + 1)) }
registry: { file: registry.yaml }
data_dir: data
YAML
  (cd "$dir" && CEIBA_LOG_FORMAT=${LOG_FORMAT:-text} exec java -XX:+UseParallelGC -Xms256m -Xmx256m ${JAVA_OPTS:-} \
    -jar "$jar" --config "$dir/node.yaml" >"$dir/stdout.log" 2>&1) &
  pids+=($!)
  local i
  for i in $(seq 1 160); do
    curl -fsS -o /dev/null "http://127.0.0.1:$((port + 1))/health" 2>/dev/null && { echo "ceiba $name up on 127.0.0.1:$port (access_log: $log)"; return 0; }
    sleep 0.25
  done
  cat "$dir/stdout.log" >&2
  return 1
}

# nginx as proxy-compare configures its own, with the access log on.
start_nginx_with_log() {
  local dir="$work/nginx-log" buffer=""
  mkdir -p "$dir"
  [ -z "${NGINX_LOG_BUFFER:-}" ] || buffer=" buffer=$NGINX_LOG_BUFFER flush=1s"
  cat >"$dir/nginx.conf" <<NGINX
daemon off;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
worker_processes auto;
events { worker_connections 8192; }
http {
    access_log $dir/access.log combined$buffer;
    client_body_temp_path $dir/body; proxy_temp_path $dir/proxy; fastcgi_temp_path $dir/fastcgi;
    uwsgi_temp_path $dir/uwsgi; scgi_temp_path $dir/scgi;
    keepalive_timeout 65s;
    keepalive_requests 1000000;
    upstream origin {
        server 127.0.0.1:$port_base;
        keepalive 512;
        keepalive_requests 1000000;
    }
    server {
        listen 127.0.0.1:$nginx_port default_server reuseport;
        return 404;
    }
    server {
        listen 127.0.0.1:$nginx_port;
        server_name app.local;
        location / {
            proxy_pass http://origin;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host \$host;
            proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto \$scheme;
            proxy_set_header X-Forwarded-Host \$host;
        }
    }
}
NGINX
  nginx -p "$dir/" -c "$dir/nginx.conf" -e "$dir/error.log" >"$dir/stdout.log" 2>&1 &
  pids+=($!)
  echo "nginx with its access log on 127.0.0.1:$nginx_port${buffer:+ ($buffer)}"
}

targets=()
start_node off "$jar" "$base_port" false
start_node on "$jar" $((base_port + 10)) true
targets+=(--target "ceiba-off=http://127.0.0.1:$base_port/" --target "ceiba-on=http://127.0.0.1:$((base_port + 10))/")
if [ -n "$old_jar" ]; then
  start_node old-off "$old_jar" $((base_port + 20)) false
  start_node old-on "$old_jar" $((base_port + 30)) true
  targets+=(--target "old-off=http://127.0.0.1:$((base_port + 20))/" --target "old-on=http://127.0.0.1:$((base_port + 30))/")
fi
start_nginx_with_log
targets+=(--target "nginx-log=http://127.0.0.1:$nginx_port/")

# the JIT compiles while the first rounds run: warm every Ceiba node first, or the first measured gets the penalty
for t in "${targets[@]}"; do
  [[ $t == ceiba-*=* || $t == old-*=* ]] || continue
  wrk -t1 -c50 -d"${PREWARM:-15}s" -H "Host: app.local" "${t#*=}" >/dev/null 2>&1 || true
done

"$compare" -w "${WARMUP:-5}" -r "${ROUNDS:-3}" --port-base "$port_base" --json "$json" "${targets[@]}" "$@"

lines() { [ -f "$1" ] && grep -c "${2:-}" "$1" || echo 0; }
echo
echo "Access log on / off, same run (1.00 = free; req/s: higher is better, CPU per request: lower is better):"
python3 - "$json" <<'PY'
import json, sys
t = {x["name"]: x for x in json.load(open(sys.argv[1]))["targets"]}
def row(label, on, off):
    if on not in t or off not in t:
        return
    a, b = t[on], t[off]
    cpu = "-" if not a["proxy_cpu_us_per_req"] or not b["proxy_cpu_us_per_req"] else "%.2f" % (a["proxy_cpu_us_per_req"] / b["proxy_cpu_us_per_req"])
    print("| %s | %.0f | %.0f | %.2f | %s | %s | %s |" % (label, a["rps"], b["rps"], a["rps"] / b["rps"],
          a["proxy_cpu_us_per_req"], b["proxy_cpu_us_per_req"], cpu))
print("| proxy | req/s log on | req/s log off | ×req/s | CPU µs/req on | CPU µs/req off | ×CPU/req |")
print("|---|---:|---:|---:|---:|---:|---:|")
row("ceiba", "ceiba-on", "ceiba-off")
row("ceiba (OLD_JAR)", "old-on", "old-off")
row("nginx", "nginx-log", "nginx")
# for ops/bench/goals.sh: goal|value|target ("-": reported, no target)
def ratio(on, off, key):
    return t[on][key] / t[off][key] if t[on][key] and t[off][key] else float("nan")
print("GOAL|access log on / off: Ceiba req/s|%.2f|>= 0.95" % ratio("ceiba-on", "ceiba-off", "rps"))
print("GOAL|access log on / off: Ceiba CPU per request (nginx's: %.2f)|%.2f|-"
      % (ratio("nginx-log", "nginx", "proxy_cpu_us_per_req"), ratio("ceiba-on", "ceiba-off", "proxy_cpu_us_per_req")))
print("GOAL|access log on / off: nginx req/s (the fair comparison)|%.2f|-" % ratio("nginx-log", "nginx", "rps"))
PY
echo
echo "lines written: ceiba-on $(lines "$work/on/stdout.log" ' ceiba.access \|"ceiba.access"')," \
  "${old_jar:+old-on $(lines "$work/old-on/stdout.log" ' ceiba.access \|"ceiba.access"'), }nginx-log $(lines "$work/nginx-log/access.log")"
[ -z "${JSON:-}" ] || echo "JSON written to $JSON" >&2
