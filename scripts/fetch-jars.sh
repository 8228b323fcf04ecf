#!/usr/bin/env bash
# Fetch the consumer's jars: scripts/fetch-jars.sh DEST_DIR SPARK_JARS_DIR [--skip-not-on-emr]
# The logic lives in jobs/streaming-consumer/fetch-jars.sh, inside the image's build context, so the
# Dockerfile runs the very same script.
set -euo pipefail
exec bash "$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/jobs/streaming-consumer/fetch-jars.sh" "$@"
