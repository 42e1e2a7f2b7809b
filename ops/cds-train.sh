#!/usr/bin/env bash
# Makes the class data sharing archive of a Ceiba jar (JDK 17 AppCDS, a dynamic archive): a training run of the
# embedded default (every role, embedded PostgreSQL, in a temporary data dir on free loopback ports), clustered alone
# (so the cluster manager's classes, JGroups over mutual TLS and Infinispan, are in the archive too), to /ready, a few
# requests through the control API and the edge, then a clean stop, at which the JVM writes the classes it loaded.
# A start with `java -XX:SharedArchiveFile=ARCHIVE -jar JAR` then maps them instead of loading, verifying and
# linking them again (docs/operations.md#start-up-and-the-class-data-archive).
#
#   ops/cds-train.sh JAR ARCHIVE [JAVA_FLAGS...]
#
# The archive fits only the JVM that made it and the jar file it was made from: same path (the jar is named by its
# absolute path here, so relative names of that file also fit), size and modification time. A start with a missing
# archive runs without it silently; with a stale one (jar rebuilt, JDK updated) the JVM prints one warning and runs
# without it. So this script never fails a build: when training fails it says why and exits 0 without an archive.
# `mvn package` runs it for target/ceiba.jar (-Dceiba.cds.skip=true leaves it out).
set -uo pipefail

[ $# -ge 2 ] || { sed -n '2,/^set -uo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//' >&2; exit 2; }
jar=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
archive=$2
shift 2
root=$(cd "$(dirname "$0")/.." && pwd)
java=${JAVA_HOME:+$JAVA_HOME/bin/}java

say() { echo "cds-train: $*" >&2; }
[ -f "$jar" ] || { say "$jar is missing; no archive"; exit 0; }
for tool in curl python3; do
  command -v "$tool" >/dev/null || { say "$tool is not installed; no archive"; exit 0; }
done

work=$(mktemp -d /tmp/ceiba-cds.XXXXXX)
node_pid=""
cleanup() {
  [ -n "$node_pid" ] && kill -9 "$node_pid" 2>/dev/null
  local f=$work/data/postgres/postmaster.pid p
  [ -f "$f" ] && { p=$(head -1 "$f"); [[ $p =~ ^[0-9]+$ ]] && kill -9 "$p" 2>/dev/null; }
  rm -rf "$work"
}
trap cleanup EXIT
# the old archive goes first: a failed training must not leave one that no longer fits the jar
rm -f "$archive"

read -r control edge demo metrics cluster < <(python3 -c 'import socket
ss=[socket.socket() for _ in range(5)]
[s.bind(("127.0.0.1",0)) for s in ss]
print(" ".join(str(s.getsockname()[1]) for s in ss))')
CEIBA_DATA_DIR=$work/data CEIBA_REGISTRY_FILE=$root/node-configs/registry.yaml CEIBA_CONTROL_PORT=$control \
  CEIBA_EDGE_HOST=127.0.0.1 CEIBA_EDGE_PORT=$edge CEIBA_DEMO_ORIGIN_PORT=$demo CEIBA_METRICS_PORT=$metrics \
  CEIBA_SHUTDOWN_DRAIN_DELAY=0s \
  CEIBA_CLUSTER_ENABLED=true CEIBA_CLUSTER_HOST=127.0.0.1 CEIBA_CLUSTER_PORT=$cluster \
  CEIBA_CLUSTER_MEMBERS=127.0.0.1:$cluster CEIBA_CLUSTER_JOIN_TIMEOUT=1s \
  "$java" "$@" -XX:ArchiveClassesAtExit="$work/ceiba.jsa" -jar "$jar" >"$work/node.log" 2>&1 &
node_pid=$!

ready=""
for _ in $(seq 1 1200); do
  curl -sf -o /dev/null --max-time 1 "http://127.0.0.1:$control/ready" && { ready=1; break; }
  kill -0 "$node_pid" 2>/dev/null || break
  sleep 0.1
done
[ -n "$ready" ] || { say "the training node did not get ready; no archive. Its log:"; tail -20 "$work/node.log" >&2; exit 0; }

# the request paths a node serves: they load classes too
token=$(cat "$work/data/admin-token")
for path in /ready /health /metrics /v1/cluster /v1/plans /v1/registry /console/; do
  curl -s -o /dev/null -H "Authorization: Bearer $token" "http://127.0.0.1:$control$path"
done
for _ in 1 2 3; do
  curl -s -o /dev/null -H 'Host: demo.localhost' "http://127.0.0.1:$edge/hello"
  curl -s -o /dev/null -H 'Host: api.example.test' "http://127.0.0.1:$edge/v1/things"
done

kill -TERM "$node_pid"
wait "$node_pid"
status=$?
node_pid=""
if [ "$status" -ne 0 ] || [ ! -s "$work/ceiba.jsa" ]; then
  say "the training node exited with $status and wrote no archive; no archive. Its log:"
  tail -20 "$work/node.log" >&2
  exit 0
fi
mkdir -p "$(dirname "$archive")"
mv "$work/ceiba.jsa" "$archive.tmp.$$" && mv "$archive.tmp.$$" "$archive"
say "wrote $archive ($(du -h "$archive" | cut -f1)) for $jar"
