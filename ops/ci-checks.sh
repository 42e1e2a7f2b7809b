#!/usr/bin/env bash
# Static checks of the operations kit (run by .ci/run; runnable alone from the repository root):
# Prometheus rules and config (promtool), the rules' unit tests, the Grafana dashboard's JSON.
set -euo pipefail
cd "$(dirname "$0")/.."

promtool check rules ops/monitoring/alerts.yml
promtool check config ops/monitoring/prometheus.yml
promtool test rules ops/monitoring/alerts-test.yml
python3 -m json.tool ops/monitoring/grafana-dashboard.json >/dev/null
echo "ops/monitoring/grafana-dashboard.json: valid JSON"

