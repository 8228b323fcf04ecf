#!/usr/bin/env bash
# `npm test`: everything, on a fresh machine as on a laptop. First the shared setup (the Python environment, jars,
# the Kafka broker, helm: scripts/test-setup.sh), then two lanes at once, because neither keeps 2 cores busy on its
# own (the Python lane spends much of its time waiting on JVMs, brokers and micro-batch triggers):
#   ts      tsc --noEmit, jest, actionlint   (npm run test:ts && npm run test:workflows)
#   python  the consumer's pytest suite      (npm run test:python, with the 15 slowest tests listed)
# Each lane's output goes to its own log and is printed whole when the lane ends, so the two never interleave; the
# run fails if either lane fails, and says which. Each lane starts its own Kafka broker and S3 server: the Python
# lane stops and restarts its broker mid-test (test_recovery.py), which a shared broker could not survive.
# Extra arguments are ignored; run a lane by itself with `npm run test:ts` or `npm run test:python -- <pytest args>`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

npm run --silent test:setup

logs="$(mktemp -d)"
lanes=()
# shellcheck disable=SC2329 # invoked by the trap
stop_lanes() {
  local f
  for f in "$logs"/*.pid; do
    [[ -e "$f" ]] && kill -TERM -- "-$(cat "$f")" 2>/dev/null || true
  done
  rm -rf "$logs"
}
trap stop_lanes EXIT

# A lane runs in its own session (so an interrupted run stops its whole tree) and leaves its exit status in <name>.rc.
lane() {
  local name="$1" command="$2"
  lanes+=("$name")
  (
    start=$SECONDS
    setsid bash -c "$command" >"$logs/$name.log" 2>&1 &
    echo "$!" >"$logs/$name.pid"
    status=0
    wait "$!" || status=$?
    # (Quietly: after an interrupted run the folder is gone.)
    { echo "$((SECONDS - start))" >"$logs/$name.secs" && echo "$status" >"$logs/$name.rc"; } 2>/dev/null || true
  ) &
}

lane ts "npm run test:ts && npm run test:workflows"
lane python "npm run test:python -- --durations=15"
echo "npm test: lanes ${lanes[*]} run in parallel; each lane's output follows, whole, when it ends" >&2

failed=()
declare -A printed=()
while ((${#printed[@]} < ${#lanes[@]})); do
  # Woken by whichever lane ends first; lanes are printed in the order they end.
  wait -n 2>/dev/null || sleep 1
  for name in "${lanes[@]}"; do
    [[ -n "${printed[$name]:-}" || ! -e "$logs/$name.rc" ]] && continue
    printed[$name]=1
    status="$(cat "$logs/$name.rc")"
    echo "===== lane $name: exit $status after $(cat "$logs/$name.secs")s ====="
    cat "$logs/$name.log"
    echo "===== end of lane $name ====="
    ((status == 0)) || failed+=("$name (exit $status)")
  done
done

if ((${#failed[@]} > 0)); then
  echo "npm test: FAILED lane(s): ${failed[*]} after ${SECONDS}s" >&2
  exit 1
fi
echo "npm test: every lane passed in ${SECONDS}s" >&2
