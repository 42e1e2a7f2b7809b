#!/usr/bin/env bash
# Ceiba against nginx, HAProxy and Caddy in front of the same origin, measured in one run by
# ../shared/bench/proxy-compare.sh (wrk on loopback; it installs nginx/haproxy/caddy/wrk from Debian
# when missing). Starts one Ceiba node (roles edge + health, no cluster, access log off) whose registry
# routes Host app.local to the harness's origin, then prints the harness's table (ratios to direct and
# to nginx, CPU µs per request).
#
#   ops/bench/proxy-bench.sh [extra proxy-compare.sh options]     e.g. -d 5 -r 3
#
# Environment: PORT_BASE (origin port, default 28080; nginx/haproxy/caddy take the next three),
# CEIBA_PORT (default 28090), EDGE_INSTANCES (default 2), ROUNDS (5), WARMUP (10), JSON (result file),
# JAVA_OPTS (extra JVM flags, e.g. -XX:StartFlightRecording=filename=edge.jfr,settings=profile).
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
compare="$root/../shared/bench/proxy-compare.sh"
[ -x "$compare" ] || { echo "missing $compare" >&2; exit 1; }
jar="$root/target/ceiba.jar"
[ -f "$jar" ] || (cd "$root" && mvn -q -DskipTests package)

port_base=${PORT_BASE:-28080}
ceiba_port=${CEIBA_PORT:-28090}
control_port=$((ceiba_port + 1))
instances=${EDGE_INSTANCES:-2}
work=$(mktemp -d "${TMPDIR:-/tmp}/ceiba-bench.XXXXXX")
node_pid=""
cleanup() {
  if [ -n "$node_pid" ] && kill -0 "$node_pid" 2>/dev/null; then
    kill -TERM "$node_pid"
    wait "$node_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

cat >"$work/registry.yaml" <<YAML
version: 1
http:
  app:
    hosts: [app.local]
    backends:
      - { url: "http://127.0.0.1:$port_base" }
    health: { path: /, interval: 2s, timeout: 500ms }
YAML
cat >"$work/node.yaml" <<YAML
node: { id: bench }
roles: [edge, health]
instances: { edge: $instances }
edge: { host: 127.0.0.1, port: $ceiba_port, access_log: false }
control: { host: 127.0.0.1, port: $control_port }
registry: { file: registry.yaml }
data_dir: data
YAML

java -XX:+UseParallelGC -Xms256m -Xmx256m ${JAVA_OPTS:-} -jar "$jar" --config "$work/node.yaml" >"$work/ceiba.log" 2>&1 &
node_pid=$!
for _ in $(seq 1 120); do
  curl -fsS -o /dev/null "http://127.0.0.1:$control_port/health" 2>/dev/null && break
  kill -0 "$node_pid" 2>/dev/null || { cat "$work/ceiba.log" >&2; exit 1; }
  sleep 0.25
done
echo "ceiba node up (pid $node_pid, $instances edge instances) on 127.0.0.1:$ceiba_port"

args=(-w "${WARMUP:-10}" -r "${ROUNDS:-5}" --port-base "$port_base" --target "ceiba=http://127.0.0.1:$ceiba_port/")
[ -n "${JSON:-}" ] && args+=(--json "$JSON")
"$compare" "${args[@]}" "$@"
