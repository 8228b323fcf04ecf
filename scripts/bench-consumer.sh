#!/usr/bin/env bash
# Benchmark of the streaming consumer against Kafka's and Spark's ceilings (npm run bench:consumer; issue 15).
# Not a test. Starts one local Kafka broker for the whole run (stopped on exit) and runs
# scripts/bench_consumer.py, which produces the topics and measures each row as its own process; every
# argument is passed to it, e.g.
#   npm run bench:consumer -- --records 50000 --repeats 3
#   bash scripts/bench-consumer.sh --variants de --mix clean --latency-seconds 0
# (--help lists them; docs/benchmarks.md says what each row is and how to read the figures).
# BENCH_KEEP=1 keeps the work folder (logs of every run, outputs).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=setup-python.sh
source "$(dirname "${BASH_SOURCE[0]}")/setup-python.sh"

work="$(mktemp -d -t bench-consumer.XXXXXX)"
cleanup() {
  bash "$REPO_ROOT/scripts/kafka-stop.sh" "$work/kafka" || true
  if [[ "${BENCH_KEEP:-}" == 1 ]]; then echo "work folder kept: $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

bootstrap="$(bash "$REPO_ROOT/scripts/kafka-start.sh" "$work/kafka")"
echo "broker: $bootstrap; work folder: $work"
cd "$JOB_DIR"
SPARK_LOCAL_IP=127.0.0.1 PYTHONPATH="$JOB_DIR" "$VENV_PYTHON" "$REPO_ROOT/scripts/bench_consumer.py" \
  --bootstrap "$bootstrap" --work "$work" --kafka-libs "$KAFKA_LIBS" "$@"
