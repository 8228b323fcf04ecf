#!/usr/bin/env bash
# Prepares everything `npm test` needs, building helm (a slow Go build, once; cached in .cache/bin) in the background
# while the Python environment, the jars and the Kafka broker are set up, so a fresh machine pays for the two at once.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

helm_log="$(mktemp)"
trap 'rm -f "$helm_log"' EXIT
bash scripts/helm.sh --install >"$helm_log" 2>&1 &
helm_pid=$!

python_status=0
bash scripts/setup-python.sh || python_status=$?

helm_status=0
wait "$helm_pid" || helm_status=$?
cat "$helm_log" >&2
[[ $python_status -eq 0 ]] || { echo "error: scripts/setup-python.sh failed ($python_status)" >&2; exit "$python_status"; }
[[ $helm_status -eq 0 ]] || { echo "error: building helm failed ($helm_status; see above)" >&2; exit "$helm_status"; }
