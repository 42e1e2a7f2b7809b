#!/usr/bin/env bash
# Follows the README literally: copies the repository's tracked files and target/ceiba.jar into a fresh folder,
# starts the node there with the README's first command (no arguments), then runs every README code block marked
# "<!-- readme-check: run -->", as written, in one shell, and checks what a newcomer would look for: the demo
# origin's answer through the edge, a valid key, and a 200 with RateLimit headers for the keyed request.
# Needs the fat jar (mvn package) and free ports 8080, 9090 and 9001, as the README does.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
jar="$root/target/ceiba.jar"
[ -f "$jar" ] || { echo "readme-check: $jar missing; run mvn package first" >&2; exit 2; }
for port in 8080 9090 9001; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "readme-check: port $port is taken; the README's node needs it" >&2
    exit 2
  fi
done

work="$(mktemp -d /tmp/ceiba-readme.XXXXXX)"
node_pid=
cleanup() {
  if [ -n "$node_pid" ] && kill -0 "$node_pid" 2>/dev/null; then
    kill -TERM "$node_pid"
    wait "$node_pid" || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

# a fresh copy, as after a clone: tracked files only, plus the jar the first command would have built
(cd "$root" && git ls-files -z | xargs -0 cp --parents -t "$work")
mkdir -p "$work/target" && cp "$jar" "$work/target/ceiba.jar"
# the class data archive fits only the jar file it was made from, not this copy: the start must go on without it
# (one warning line), which this checks too; a missing archive is ignored
[ -f "$root/target/ceiba.jsa" ] && cp "$root/target/ceiba.jsa" "$work/target/ceiba.jsa"
cd "$work"

java -XX:SharedArchiveFile=target/ceiba.jsa -jar target/ceiba.jar >node.log 2>&1 &
node_pid=$!
ready=
for _ in $(seq 1 90); do
  if curl -sf localhost:9090/ready >/dev/null 2>&1; then ready=1; break; fi
  kill -0 "$node_pid" 2>/dev/null || break
  sleep 1
done
if [ -z "$ready" ]; then
  echo "readme-check: the node did not become ready within 90 s; its log:" >&2
  tail -40 node.log >&2
  exit 1
fi

# the marked blocks, in README order, as one script (later blocks use the earlier ones' variables)
awk '/<!-- readme-check: run -->/ {armed=1; next}
     armed && /^```bash/ {inblock=1; next}
     inblock && /^```/ {inblock=0; armed=0; next}
     inblock {print}' README.md >readme-blocks.sh
[ -s readme-blocks.sh ] || { echo "readme-check: no marked blocks in README.md" >&2; exit 1; }
echo "readme-check: running $(wc -l <readme-blocks.sh) README lines"
if ! bash -euo pipefail readme-blocks.sh >readme-output.txt 2>&1; then
  echo "readme-check: a README command failed; output:" >&2
  cat readme-output.txt >&2
  exit 1
fi

failed=0
expect() {
  if grep -q -- "$1" readme-output.txt; then
    echo "readme-check: ok: $2"
  else
    echo "readme-check: MISSING: $2 (no '$1' in the output)" >&2
    failed=1
  fi
}
expect '"origin" : "ceiba demo origin"' "a request through the edge reached the demo origin"
expect '"allowed":true' "the new key verifies"
expect 'HTTP/1.1 200 OK' "the keyed request through the edge got 200"
expect '^ratelimit-limit: 10' "with the plan's RateLimit headers"
expect '^pro  *10/1s' "ceiba admin plans list shows the plan as a table"
expect '^node1 (self)' "ceiba admin cluster status lists this node"
if [ "$failed" != 0 ]; then
  cat readme-output.txt >&2
  exit 1
fi
echo "readme-check: the README works as written"
