#!/usr/bin/env bash
# Run the streaming consumer's pytest suite (npm test calls this). Extra arguments go to pytest.
#
# First run (or changed requirements): creates .venv/ and fetches the jars and a Kafka broker with Maven
# (scripts/setup-python.sh). The tests start a real Kafka broker and moto's S3 server on free 127.0.0.1
# ports; if one cannot start the run fails (never skips).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=setup-python.sh
source "$(dirname "${BASH_SOURCE[0]}")/setup-python.sh"
cd "$JOB_DIR"
exec "$VENV_PYTHON" -m pytest "$@"
