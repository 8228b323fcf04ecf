#!/usr/bin/env bash
# Stop the moto server started by moto-start.sh STATE_DIR.
set -euo pipefail
state=${1:?usage: moto-stop.sh STATE_DIR}
[[ -f "$state/pid" ]] || exit 0
pid=$(cat "$state/pid")
if kill -0 "$pid" 2>/dev/null; then
  kill "$pid"
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
fi
rm -f "$state/pid"
