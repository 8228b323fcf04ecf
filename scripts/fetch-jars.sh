#!/usr/bin/env bash
# Fetch the consumer's jars: scripts/fetch-jars.sh DEST_DIR SPARK_JARS_DIR [--skip-not-on-emr]
# The logic lives in jobs/streaming-consumer/fetch-jars.sh, inside the image's build context, so the
# Dockerfile runs the very same script. Then, into the same folder, the job's own JVM functions
# (jobs/streaming-consumer/build-udfs.sh, as the Dockerfile does): every Spark session of the tests and the
# benchmarks takes its jars from that one folder. In this order because fetch-jars.sh empties the folder when
# its list changes; build-udfs.sh then builds the jar again (its stamp is gone with it).
set -euo pipefail
job_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/jobs/streaming-consumer"
bash "$job_dir/fetch-jars.sh" "$@"
bash "$job_dir/build-udfs.sh" "$1" "$2"
