#!/usr/bin/env bash
# Two Ceiba builds side by side in one run of ../shared/bench/proxy-compare.sh (with nginx, HAProxy and Caddy), so a
# change's cost or gain is a ratio measured on the same machine at the same time, not against a figure from another day.
# Each build runs as in proxy-bench.sh: one node with roles edge + health, EDGE_INSTANCES edge instances, no cluster,
# access log off, routing Host app.local to the harness's origin.
#
#   ops/bench/before-after.sh OLD_JAR [NEW_JAR] [extra proxy-compare.sh options]     e.g. -d 5 -r 3
#
# NEW_JAR defaults to target/ceiba.jar. Environment: PORT_BASE (origin, default 28080; nginx/haproxy/caddy take the
# next three), CEIBA_PORT (default 28090: old on it, new on +10; control ports +1), EDGE_INSTANCES (2), WARMUP (10),
# ROUNDS (3), JSON (result file).
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
compare="$root/../shared/bench/proxy-compare.sh"
[ -x "$compare" ] || { echo "missing $compare" >&2; exit 1; }
[ $# -ge 1 ] || { sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
old_jar=$(realpath "$1"); shift
new_jar="$root/target/ceiba.jar"
if [ $# -ge 1 ] && [ -f "$1" ]; then new_jar=$(realpath "$1"); shift; fi
[ -f "$old_jar" ] && [ -f "$new_jar" ] || { echo "missing jar: $old_jar or $new_jar" >&2; exit 1; }

port_base=${PORT_BASE:-28080}
base_port=${CEIBA_PORT:-28090}
instances=${EDGE_INSTANCES:-2}
work=$(mktemp -d "${TMPDIR:-/tmp}/ceiba-before-after.XXXXXX")
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

start_node() { # name jar edge_port
  local name=$1 jar=$2 port=$3 dir="$work/$1"
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
edge: { host: 127.0.0.1, port: $port, access_log: false }
control: { host: 127.0.0.1, port: $((port + 1)) }
registry: { file: registry.yaml }
data_dir: data
YAML
  (cd "$dir" && exec java -XX:+UseParallelGC -Xms256m -Xmx256m ${JAVA_OPTS:-} -jar "$jar" --config "$dir/node.yaml" >"$dir/ceiba.log" 2>&1) &
  pids+=($!)
  local i
  for i in $(seq 1 160); do
    curl -fsS -o /dev/null "http://127.0.0.1:$((port + 1))/health" 2>/dev/null && { echo "ceiba $name up on 127.0.0.1:$port ($jar)"; return 0; }
    sleep 0.25
  done
  cat "$dir/ceiba.log" >&2
  return 1
}

start_node old "$old_jar" "$base_port"
start_node new "$new_jar" $((base_port + 10))

args=(-w "${WARMUP:-10}" -r "${ROUNDS:-3}" --port-base "$port_base"
  --target "ceiba-old=http://127.0.0.1:$base_port/" --target "ceiba-new=http://127.0.0.1:$((base_port + 10))/")
[ -n "${JSON:-}" ] && args+=(--json "$JSON")
"$compare" "${args[@]}" "$@"
