#!/usr/bin/env bash
# Stop the broker started by kafka-start.sh STATE_DIR (SIGTERM, then SIGKILL after 30 s). Data stays.
#   scripts/kafka-stop.sh STATE_DIR [--kill]    --kill: SIGKILL at once (a crash, not a shutdown)
set -euo pipefail
state=${1:?usage: kafka-stop.sh STATE_DIR [--kill]}
[[ -f "$state/pid" ]] || exit 0
pid=$(cat "$state/pid")
sig=TERM; [[ "${2:-}" == "--kill" ]] && sig=KILL
if kill -0 "$pid" 2>/dev/null; then
  kill -s "$sig" "$pid"
  for _ in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid"; sleep 0.5; fi
fi
rm -f "$state/pid"
