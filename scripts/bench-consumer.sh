#!/usr/bin/env bash
# Benchmark of the streaming consumer (npm run bench:consumer). Not a test.
#
# 1,000,000 valid JSON records of about 300 bytes on a 4-partition topic of a local Kafka broker; then,
# on that same topic in the same run:
#   - the consumer with --available-now (local[2], Parquet to a local folder; moto is not in the path
#     because its single Python process, not the job, would be what is measured);
#   - Kafka's own ConsumerPerformance tool (raw read rate, no parsing, no writing);
# and prints both rates and their ratio. Environment: BENCH_RECORDS (default 1000000), BENCH_KEEP=1
# keeps the work folder.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=setup-python.sh
source "$(dirname "${BASH_SOURCE[0]}")/setup-python.sh"

records="${BENCH_RECORDS:-1000000}"
work="$(mktemp -d -t bench-consumer.XXXXXX)"
cleanup() {
  bash "$REPO_ROOT/scripts/kafka-stop.sh" "$work/kafka" || true
  if [[ "${BENCH_KEEP:-}" == 1 ]]; then echo "work folder kept: $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

bootstrap="$(bash "$REPO_ROOT/scripts/kafka-start.sh" "$work/kafka")"
echo "broker: $bootstrap; records: $records; work: $work"
cd "$JOB_DIR"
SPARK_LOCAL_IP=127.0.0.1 PYTHONPATH="$JOB_DIR" "$VENV_PYTHON" "$REPO_ROOT/scripts/bench_consumer.py" \
  --bootstrap "$bootstrap" --records "$records" --work "$work" --kafka-libs "$KAFKA_LIBS"
