#!/usr/bin/env bash
# Issue 22's performance goals in one command: runs each benchmark of ops/bench/ one after the other (never two at
# once: they share the machine's cores), keeps every full report, and ends with one table of the goals, each as a
# ratio (or figure) measured within its own run against its own baseline, the target and whether it was met.
#
#   ops/bench/goals.sh [--quick] [--rounds N] [--only proxy,accesslog,keyed,relay,scale,startup] [--out DIR]
#
#   proxy      ops/bench/proxy-bench.sh: Ceiba beside nginx, HAProxy and Caddy (req/s, p99, CPU per request ×nginx)
#   accesslog  ops/bench/accesslog-bench.sh: the access log on / off, Ceiba's and nginx's
#   keyed      ops/bench/access-bench.sh: api-key + rate limit + quota + usage / public, pinned pairs and alternating
#              rounds on one node
#   relay      ops/bench/relay-bench.sh (root: network namespaces): relayed through another host / local backend
#   scale      ops/bench/scale-bench.sh: 10,000 connections (RSS, p99), 1/2/4 edge instances, 1 MB bodies ×nginx
#   startup    ops/bench/startup-bench.sh: time to /ready of the embedded default
#
# --rounds (default 3) sets each benchmark's interleaved rounds (startup: runs); the whole takes about 30 minutes.
# --quick shortens every run (for trying the harness, not for figures). Reports go to DIR (default
# target/bench-goals/<UTC time>/<bench>.txt); the summary is printed and written to DIR/goals.md. A benchmark that
# fails or cannot run here (e.g. relay without root) is listed as not measured with the reason, and the others go on.
# Only ratios taken within one run count: absolute figures on a shared 2-core machine are noise.
set -uo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
only="proxy,accesslog,keyed,relay,scale,startup" quick=0 out="" rounds=3
while [ $# -gt 0 ]; do
  case $1 in
    --quick) quick=1; shift ;;
    --rounds) rounds=${2:?}; shift 2 ;;
    --only) only=${2:?}; shift 2 ;;
    --out) out=${2:?}; shift 2 ;;
    -h|--help) sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "goals: unknown option $1" >&2; exit 2 ;;
  esac
done
[[ $rounds =~ ^[1-9][0-9]?$ ]] || { echo "goals: --rounds takes 1 to 99, got '$rounds'" >&2; exit 2; }
for b in ${only//,/ }; do
  [[ " proxy accesslog keyed relay scale startup " = *" $b "* ]] || { echo "goals: unknown benchmark '$b'" >&2; exit 2; }
done
out=${out:-$root/target/bench-goals/$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$out"
[ -f "$root/target/ceiba.jar" ] || (cd "$root" && mvn -q -DskipTests package) || exit 1

rows=()   # goal | measured | target | met
row() { rows+=("| $1 | $2 | $3 | $4 |"); }
met() { awk -v v="$1" -v t="$2" -v dir="$3" 'BEGIN { if (v == "") print "not measured"; else if (t == "-" || dir == "-") print "reported"; else if ((dir == ">=" && v + 0 >= t + 0) || (dir == "<=" && v + 0 <= t + 0)) print "**met**"; else printf "no (%+.0f%%)\n", (t > 0 ? (v - t) / t * 100 : 0) }'; }
selected() { [[ ",$only," = *",$1,"* ]]; }
run() {  # name command...: the report in $out/name.txt; false when it failed
  local name=$1; shift
  echo "== $name: $*" >&2
  local start=$SECONDS
  "$@" >"$out/$name.txt" 2>&1
  local rc=$?
  echo "== $name: exit $rc after $((SECONDS - start)) s ($out/$name.txt)" >&2
  [ $rc = 0 ] || { tail -5 "$out/$name.txt" | sed 's/^/   /' >&2; return 1; }
}

if selected proxy; then
  if [ $quick = 1 ]; then set -- -d 3; export ROUNDS=1 WARMUP=3; else set -- -d 10; export ROUNDS=$rounds WARMUP=10; fi
  if JSON="$out/proxy.json" run proxy "$root/ops/bench/proxy-bench.sh" "$@"; then
    read -r rps p99 cpu errors < <(python3 - "$out/proxy.json" <<'PY'
import json, sys
t = {x["name"]: x for x in json.load(open(sys.argv[1]))["targets"]}
c = t["ceiba"]
print(c["rps_vs_nginx"], c["p99_vs_nginx"], c["proxy_cpu_per_req_vs_nginx"], c["non_2xx_3xx"] + c["socket_errors"])
PY
)
    row "1. plain proxy: req/s ×nginx" "$rps" "≥ 1.0" "$(met "$rps" 1.0 '>=')"
    row "1. plain proxy: p99 ×nginx" "$p99" "≤ 1.0" "$(met "$p99" 1.0 '<=')"
    row "1. plain proxy: CPU per request ×nginx" "$cpu" "≤ 1.0" "$(met "$cpu" 1.0 '<=')"
    row "1. plain proxy: errors" "$errors" "0" "$(met "$errors" 0 '<=')"
  else
    row "1. plain proxy" "failed: see proxy.txt" "" "not measured"
  fi
  unset ROUNDS WARMUP
fi

if selected accesslog; then
  if [ ! -x "$root/ops/bench/accesslog-bench.sh" ]; then
    row "2. access log on / off" "no ops/bench/accesslog-bench.sh" "≥ 0.95" "not measured"
  elif ROUNDS=$([ $quick = 1 ] && echo 1 || echo $rounds) WARMUP=$([ $quick = 1 ] && echo 2 || echo 5) PREWARM=$([ $quick = 1 ] && echo 3 || echo 15) \
      run accesslog "$root/ops/bench/accesslog-bench.sh" -d $([ $quick = 1 ] && echo 3 || echo 10); then
    while IFS='|' read -r _ goal value target; do
      row "2. $goal" "$value" "$target" "$(met "$value" "${target#* }" "${target%% *}")"
    done < <(grep '^GOAL|' "$out/accesslog.txt")
  else
    row "2. access log on / off" "failed: see accesslog.txt" "≥ 0.95" "not measured"
  fi
fi

if selected keyed; then
  if [ $quick = 1 ]; then set -- -W 10 -w 3 -d 3 -r 1; else set -- -W 60 -w 5 -d 10 -r $rounds; fi
  if run keyed "$root/ops/bench/access-bench.sh" "$@"; then
    pinned=$(awk '/^both \(issue 4\)/{for (i = 1; i <= NF; i++) if ($i == "=") {print $(i + 1); exit}}' "$out/keyed.txt")
    alt=$(awk '/^alternating:/{for (i = 1; i <= NF; i++) if ($i == "=") {print $(i + 1); exit}}' "$out/keyed.txt")
    row "3. keyed (api-key, limit, quota, usage) / public, pinned pairs" "$pinned" "≥ 0.9" "$(met "$pinned" 0.9 '>=')"
    row "3. keyed / public, alternating rounds on one node" "$alt" "≥ 0.9" "$(met "$alt" 0.9 '>=')"
  else
    row "3. keyed / public" "failed: see keyed.txt" "≥ 0.9" "not measured"
  fi
fi

if selected relay; then
  if [ "$(id -u)" != 0 ]; then
    row "4. relayed / local backend" "needs root (network namespaces)" "≥ 0.9" "not measured"
  elif run relay "$root/ops/bench/relay-bench.sh" $([ $quick = 1 ] && echo -d 3 -r 1 -w 5 || echo -r $rounds); then
    measured=$(awk -F: '/^relayed \/ local, measured:/{split($2, a, " "); print a[1]}' "$out/relay.txt")
    per_host=$(awk -F: '/^relayed \/ local, CPU-bound, per host:/{split($2, a, " "); print a[1]}' "$out/relay.txt")
    row "4. relayed / local backend, as measured (all hosts share 2 cores)" "$measured" "≥ 0.9" "$(met "$measured" 0.9 '>=')"
    row "4. relayed / local backend, CPU-bound per host" "$per_host" "≥ 0.9" "$(met "$per_host" 0.9 '>=')"
  else
    row "4. relayed / local backend" "failed: see relay.txt" "≥ 0.9" "not measured"
  fi
fi

quick_args() { case $1 in scale) echo -d 3 -w 1 -r 1 --idle 1000 --active 50 ;; startup) printf "%s\n" -n 1 ;; esac; }
full_args() { case $1 in scale) echo -r "$rounds" ;; startup) printf "%s\n" -n "$rounds" ;; esac; }
# scale and startup report their goals as GOAL|name|value|<op> <target> lines
for bench in scale startup; do
  selected $bench || continue
  script="$root/ops/bench/$bench-bench.sh"
  if [ ! -x "$script" ]; then
    row "5. $bench" "no ops/bench/$bench-bench.sh" "" "not measured"
  elif run $bench "$script" $([ $quick = 1 ] && quick_args $bench || full_args $bench); then
    while IFS='|' read -r _ goal value target; do
      row "5. $goal" "$value" "$target" "$(met "$value" "${target#* }" "${target%% *}")"
    done < <(grep '^GOAL|' "$out/$bench.txt")
  else
    row "5. $bench" "failed: see $bench.txt" "" "not measured"
  fi
done

{
  echo "Issue 22 goals, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores ($(awk -F: '/model name/{print $2; exit}' /proc/cpuinfo | sed 's/^ *//')), git $(git -C "$root" rev-parse --short HEAD)$([ $quick = 1 ] && echo ', --quick: not figures')"
  echo
  echo "| goal | measured | target | met |"
  echo "|---|---:|---:|---|"
  printf '%s\n' "${rows[@]}"
  echo
  echo "Reports: $out"
} | tee "$out/goals.md"
