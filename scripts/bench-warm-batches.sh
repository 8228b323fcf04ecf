#!/usr/bin/env bash
# Per-batch cost of Spark's (d) and the consumer's BatchWriter in one warm JVM (npm run bench:warm-batches; issue 15).
# Not a test. Starts a local Kafka broker (stopped on exit), produces one clean topic and runs
# scripts/bench/warm_batches.py on it; arguments go to it, e.g.
#   npm run bench:warm-batches -- --rounds 15
# RECORDS (default 500000) sets the topic's size.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=setup-python.sh
source "$(dirname "${BASH_SOURCE[0]}")/setup-python.sh"

records="${RECORDS:-500000}"
work="$(mktemp -d -t bench-warm-batches.XXXXXX)"
cleanup() {
  bash "$REPO_ROOT/scripts/kafka-stop.sh" "$work/kafka" || true
  rm -rf "$work"
}
trap cleanup EXIT

bootstrap="$(bash "$REPO_ROOT/scripts/kafka-start.sh" "$work/kafka")"
cd "$JOB_DIR"
jars="$(find "$STREAMING_JARS_DIR" -name '*.jar' | sort | paste -sd,)"
SPARK_LOCAL_IP=127.0.0.1 PYTHONPATH="$JOB_DIR" "$VENV_PYTHON" "$REPO_ROOT/scripts/bench/produce.py" \
  --bootstrap "$bootstrap" --partitions 4 --jars "$jars" --topic "warm:$records:clean"
SPARK_LOCAL_IP=127.0.0.1 PYTHONPATH="$JOB_DIR" "$VENV_PYTHON" "$REPO_ROOT/scripts/bench/warm_batches.py" \
  --bootstrap "$bootstrap" --topic warm --records "$records" --partitions 4 "$@"
