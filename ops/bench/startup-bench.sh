#!/usr/bin/env bash
# Time to ready of the embedded default (the README's first command: no config, one node, every role, embedded
# PostgreSQL under ./data): from the exec of the JVM to the first 200 of GET /ready on the control port, for
#   cold   an empty data dir (initdb, every migration),
#   warm   the data dir a clean stop (SIGTERM) left,
#   kill9  the data dir after kill -9 of the node (its PostgreSQL orphaned, or stopped by the node's watchdog).
# Each run's log gives the phases, from the node's own log timestamps: JVM up (the node's "starting" line),
# PostgreSQL up, schema checked or migrated, roles deployed ("node … started"), ready. Variants run interleaved
# (one cold, warm and kill9 of each in turn per round), so the ratios between them hold on a loaded machine.
#
#   ops/bench/startup-bench.sh [-n RUNS] [-v 'LABEL|JAR|JAVA_FLAGS']... [--keep]
#
# Default: -n 5 and the README's command, `java -XX:SharedArchiveFile=target/ceiba.jsa -jar target/ceiba.jar`
# (the archive `mvn package` makes; ops/cds-train.sh). A variant names its jar (empty: target/ceiba.jar) and its
# JVM flags, e.g. this build against an older jar and without the archive:
#   -v 'cds||-XX:SharedArchiveFile=target/ceiba.jsa' -v 'no-cds||' -v 'before|/tmp/old.jar|'
# Every node runs from the repository root (as the README's command; relative paths in the flags resolve there) with its
# own temporary data dir, on free loopback ports, with drain_delay 0; the nodes and their
# PostgreSQL are stopped by pid on exit. Needs curl, python3 (free ports) and target/ceiba.jar.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
jar="$root/target/ceiba.jar"
runs=5 keep="" variants=()
while [ $# -gt 0 ]; do
  case $1 in
    -n) runs=$2; shift 2 ;;
    -v) variants+=("$2"); shift 2 ;;
    --keep) keep=1; shift ;;
    *) sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//' >&2; exit 2 ;;
  esac
done
[[ $runs =~ ^[1-9][0-9]*$ ]] || { echo "startup-bench: -n takes a whole number, got '$runs'" >&2; exit 2; }
[ ${#variants[@]} -gt 0 ] || variants=("cds||-XX:SharedArchiveFile=target/ceiba.jsa")
for tool in curl python3 java; do
  command -v "$tool" >/dev/null || { echo "startup-bench: $tool is not installed" >&2; exit 1; }
done
[ -f "$jar" ] || { echo "startup-bench: $jar is missing (mvn -q -DskipTests package)" >&2; exit 1; }

work=$(mktemp -d /tmp/ceiba-startup.XXXXXX)
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  # a PostgreSQL whose node died (kill9 runs): stopped by the pid in its own pid file
  for f in "$work"/*/data/postgres/postmaster.pid; do
    [ -f "$f" ] && { p=$(head -1 "$f"); [[ $p =~ ^[0-9]+$ ]] && kill -9 "$p" 2>/dev/null || true; }
  done
  [ -n "$keep" ] && echo "kept $work" >&2 || rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_ports() {
  python3 -c 'import socket
ss=[socket.socket() for _ in range(4)]
[s.bind(("127.0.0.1",0)) for s in ss]
print(" ".join(str(s.getsockname()[1]) for s in ss))'
}

now_ms() { date +%s%3N; }
# epoch ms of the first log line matching $2 in $1 ("" when none)
stamp() {
  local line
  line=$(grep -m1 -E "$2" "$1" 2>/dev/null | cut -d' ' -f1) || true
  [ -n "$line" ] && date -d "$line" +%s%3N || true
}

# start VARIANT_INDEX DIR: launches a node in DIR, sets $node_pid and $control
start() {
  local rest=${variants[$1]#*|} dir=$2 ports
  local vjar=${rest%%|*} flags=${rest#*|}
  read -r -a ports <<<"$(free_ports)"
  control=${ports[0]}
  # from the repository root, as the README's command (relative flags and the default registry file resolve there),
  # with the data dir of this run
  # shellcheck disable=SC2086 # the flags are words
  (cd "$root" && exec env CEIBA_DATA_DIR="$dir/data" CEIBA_CONTROL_PORT="${ports[0]}" CEIBA_EDGE_PORT="${ports[1]}" CEIBA_EDGE_HOST=127.0.0.1 \
    CEIBA_DEMO_ORIGIN_PORT="${ports[2]}" CEIBA_METRICS_PORT="${ports[3]}" CEIBA_SHUTDOWN_DRAIN_DELAY=0s \
    java $flags -jar "${vjar:-$jar}" >>"$dir/node.log" 2>&1) &
  node_pid=$!
  pids+=("$node_pid")
}

# await_ready: ms from $t0 to the first /ready 200 (fails after 120 s or when the node exits)
await_ready() {
  local deadline=$(( $(now_ms) + 120000 ))
  until curl -s -o /dev/null -w '%{http_code}' --max-time 1 "http://127.0.0.1:$control/ready" 2>/dev/null | grep -q 200; do
    kill -0 "$node_pid" 2>/dev/null || { echo "startup-bench: the node exited; its log:" >&2; tail -30 "$dir/node.log" >&2; exit 1; }
    [ "$(now_ms)" -lt "$deadline" ] || { echo "startup-bench: not ready within 120 s" >&2; tail -30 "$dir/node.log" >&2; exit 1; }
    sleep 0.02
  done
  echo $(( $(now_ms) - t0 ))
}

stop_clean() {
  kill -TERM "$node_pid"
  wait "$node_pid" 2>/dev/null || true
}

# phases LOGFILE_PART T0 READY_MS: "jvm A pg B schema C roles D ready E" (ms from exec, - when not logged)
phases() {
  local log=$1 out="" key pattern t
  for key in jvm pg schema roles; do
    case $key in
      jvm) pattern='node [^ ]+ starting' ;;
      pg) pattern='embedded PostgreSQL running' ;;
      schema) pattern='database schema at version' ;;
      roles) pattern='node [^ ]+ started in' ;;
    esac
    t=$(stamp "$log" "$pattern")
    out+="$key $([ -n "$t" ] && echo $(( t - $2 )) || echo -) "
  done
  echo "${out}ready $3"
}

# one measured start of variant $1 in $dir, of kind $2; appends "KIND VARIANT READY_MS phases..." to results
measure() {
  local v=$1 kind=$2 mark
  mark=0
  [ -f "$dir/node.log" ] && mark=$(wc -l <"$dir/node.log")
  t0=$(now_ms)
  start "$v" "$dir"
  local ms
  ms=$(await_ready) || exit 1
  tail -n +"$((mark + 1))" "$dir/node.log" >"$dir/run.log"
  local p cpu
  # the JVM's own CPU time until ready (user + system, clock ticks): less at the mercy of other load than the wall clock
  cpu=$(awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); print int(($12 + $13) * 1000 / hz) }' "/proc/$node_pid/stat")
  p="$(phases "$dir/run.log" "$t0" "$ms") cpu $cpu"
  printf '%-6s %-10s %6d ms   %s\n' "$kind" "${variants[$v]%%|*}" "$ms" "$p" >&2
  echo "$kind ${variants[$v]%%|*} $ms $p" >>"$work/results"
}

echo "startup-bench: $runs rounds, variants: ${variants[*]%%|*}; load average $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores" >&2
for ((r = 1; r <= runs; r++)); do
  for v in "${!variants[@]}"; do
    dir="$work/r$r-v$v"
    mkdir -p "$dir"
    measure "$v" cold
    stop_clean
    measure "$v" warm
    kill -9 "$node_pid"
    wait "$node_pid" 2>/dev/null || true
    measure "$v" kill9
    stop_clean
    [ -n "$keep" ] || rm -rf "$dir/data"
  done
done

echo "median over $runs runs (ms from exec; cpu: the JVM's CPU ms until ready; load average now $(cut -d' ' -f1-3 /proc/loadavg)):"
printf '%-6s %-10s %7s %7s %7s %7s %7s %7s\n' kind variant jvm pg schema roles ready cpu
for kind in cold warm kill9; do
  for v in "${variants[@]}"; do
    label=${v%%|*}
    awk -v k="$kind" -v l="$label" '
      function median(a, n,   i, j, t) {
        for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
        return n == 0 ? "-" : (n % 2 ? a[(n + 1) / 2] : int((a[n / 2] + a[n / 2 + 1]) / 2))
      }
      $1 == k && $2 == l {
        n++; r[n] = $3
        for (i = 4; i < NF; i += 2) if ($(i + 1) != "-") { c[$i]++; v[$i, c[$i]] = $(i + 1) }
      }
      END {
        split("jvm pg schema roles", names, " ")
        line = sprintf("%-6s %-10s", k, l)
        for (i = 1; i <= 4; i++) { delete a; for (j = 1; j <= c[names[i]]; j++) a[j] = v[names[i], j]; line = line sprintf(" %7s", median(a, c[names[i]])) }
        delete a; for (j = 1; j <= n; j++) a[j] = r[j]; line = line sprintf(" %7s", median(a, n))
        delete a; for (j = 1; j <= c["cpu"]; j++) a[j] = v["cpu", j]; line = line sprintf(" %7s", median(a, c["cpu"]))
        print line
      }' "$work/results"
  done
done
# for ops/bench/goals.sh: goal|value|target; the first variant (the README's command by default) is the goal's
first=${variants[0]%%|*}
for kind in warm kill9 cold; do
  awk -v k="$kind" -v l="$first" '$1 == k && $2 == l { print $3 }' "$work/results" | sort -n |
    awk -v k="$kind" -v l="$first" '{ a[NR] = $1 } END { m = NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2
      target = (k == "warm") ? "<= 5" : "-"
      printf "GOAL|time to ready of the embedded default (%s), %s start, s|%.1f|%s\n", l, (k == "kill9" ? "after kill -9" : k), m / 1000, target }'
done
