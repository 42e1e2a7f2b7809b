#!/usr/bin/env bash
# Static checks of the operations kit (run by .ci/run; runnable alone from the repository root):
# Prometheus rules and config (promtool), the rules' unit tests, the Grafana dashboard's JSON, the systemd unit.
set -euo pipefail
cd "$(dirname "$0")/.."

promtool check rules ops/monitoring/alerts.yml
promtool check config ops/monitoring/prometheus.yml
promtool test rules ops/monitoring/alerts-test.yml
python3 -m json.tool ops/monitoring/grafana-dashboard.json >/dev/null
echo "ops/monitoring/grafana-dashboard.json: valid JSON"

# systemd-analyze verify works without systemd as PID 1 (it loads the unit offline), but it prints what is wrong
# and still exits 0: treat any output as a failure. It checks that ExecStart's binary exists (/usr/bin/java).
if ! command -v systemd-analyze >/dev/null 2>&1; then
  echo "FAILED: systemd-analyze is missing (Debian package systemd): ops/systemd/ceiba.service is NOT verified" >&2
  exit 1
fi
verify_out=$(systemd-analyze verify ops/systemd/ceiba.service 2>&1) || { echo "$verify_out" >&2; exit 1; }
if [ -n "$verify_out" ]; then
  echo "FAILED: systemd-analyze verify ops/systemd/ceiba.service:" >&2
  echo "$verify_out" >&2
  exit 1
fi
echo "ops/systemd/ceiba.service: systemd-analyze verify clean"
