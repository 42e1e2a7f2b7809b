#!/usr/bin/env bash
# Captures the SQL a Ceiba release sends to PostgreSQL through its Vert.x client (the serving path: access, usage,
# registry history), for the expand-then-contract check of the next release (PreviousReleaseSchemaTest).
#
#   ops/db/capture-release-sql.sh COMMIT RELEASE [IT classes, comma-separated]
#
# It builds COMMIT in a scratch directory with its embedded PostgreSQL logging every statement (log_statement=all,
# the application name in each line), runs the integration tests that exercise the data-access code, and writes the
# distinct statements the Vert.x client executed to src/test/resources/db/release-RELEASE-sql.txt. Review the file:
# statements that only the tests send (assertions reading tables) may be removed; keep a note at its top. Statements
# sent over JDBC (Flyway, the backup and restore commands) are not captured: their compatibility is Flyway's own
# (a previous release ignores migrations newer than its own) and the restore's schema check.
# Then add "RELEASE COMMIT <highest migration version>" to src/test/resources/db/releases.txt.
set -euo pipefail
commit=${1:?commit}; release=${2:?release name}
tests=${3:-AccessApiIT,UsageIT,AccessClusterIT,ClusterIT}
repo=$(git rev-parse --show-toplevel)
work=$(mktemp -d /tmp/ceiba-capture-XXXXXX)
logs="$work/pglogs"
mkdir -p "$work/src" "$logs"
git -C "$repo" archive "$commit" | tar -x -C "$work/src"
server="$work/src/src/main/java/io/ceiba/store/pg/EmbeddedPostgresServer.java"
# every embedded PostgreSQL of the run logs each statement, with the client's application name, into one directory
# (zonky hands the settings to pg_ctl, which goes through a shell: no spaces or shell characters in the values)
sed -i "s|\(\.setServerConfig(\"listen_addresses\", \"127.0.0.1\")\)|\1\n        .setServerConfig(\"log_statement\", \"all\").setServerConfig(\"logging_collector\", \"on\")\n        .setServerConfig(\"log_directory\", \"$logs\").setServerConfig(\"log_filename\", \"statements-%Y%m%d-%H%M%S.log\")\n        .setServerConfig(\"log_line_prefix\", \"%m@%p@%a@\")|" "$server"
grep -q log_statement "$server" || { echo "could not patch $server" >&2; exit 1; }
(cd "$work/src" && mvn -o -q -DskipTests package && mvn -o verify -Dtest=NoSuchTest -Dsurefire.failIfNoSpecifiedTests=false -Dit.test="$tests") \
  > "$work/build.log" 2>&1 || echo "tests did not all pass (see $work/build.log); the statements they sent are still captured" >&2
out="$repo/src/test/resources/db/release-$release-sql.txt"
python3 "$repo/ops/db/extract-statements.py" "$commit" "$logs"/*.log > "$out"
echo "$(grep -c '^----$' "$out") statements in $out (work files in $work)"
