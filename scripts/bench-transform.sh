#!/usr/bin/env bash
# Benchmark of the consumer's validation transform alone (npm run bench:transform). Not a test.
# Arguments go to scripts/bench_transform.py (--records N, --invalid-share F, --runs R, --job-dir DIR).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=setup-python.sh
source "$(dirname "${BASH_SOURCE[0]}")/setup-python.sh"
cd "$JOB_DIR"
SPARK_LOCAL_IP=127.0.0.1 "$VENV_PYTHON" "$REPO_ROOT/scripts/bench_transform.py" "$@"
