#!/usr/bin/env bash
# Longer runs of the edge's HTTP fuzz suite (EdgeFuzzIT): malformed and borderline requests over raw sockets to a
# real node in front of a recording origin. `mvn verify` runs seed 16 with 2500 inputs; this runs any seed and count.
#
#   ops/fuzz/edge-fuzz.sh [SEED] [COUNT]      e.g. ops/fuzz/edge-fuzz.sh 7 50000
#   ops/fuzz/edge-fuzz.sh random 20000        a fresh seed (printed, so a failure can be replayed)
#
# The summary and any violations (input, bytes, reply, broken invariant) are in target/edge-fuzz-report.txt.
set -euo pipefail
cd "$(dirname "$0")/../.."
seed="${1:-16}"
count="${2:-20000}"
if [[ "$seed" == random ]]; then
  seed=$(( (RANDOM << 15) | RANDOM ))
fi
echo "edge fuzz: seed $seed, $count inputs"
status=0
mvn -q ${MAVEN_OFFLINE:--o} verify -Dtest=NoSuchTest -Dsurefire.failIfNoSpecifiedTests=false -Dit.test=EdgeFuzzIT \
  -Dfuzz.seed="$seed" -Dfuzz.count="$count" || status=$?
cat target/edge-fuzz-report.txt 2>/dev/null | head -40
exit "$status"
