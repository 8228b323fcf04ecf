#!/usr/bin/env bash
# Run the pinned helm (the kubernetes engine's tests render the Spark Operator chart offline with `helm template`).
# helm is built from its Go module into the gitignored cache on first run (scripts/go-tool.sh). The build takes
# several minutes on 2 cores: `npm test` starts it at setup, beside the Python setup (scripts/test-setup.sh).
#   bash scripts/helm.sh --install     build it if missing and print its path
#   bash scripts/helm.sh ARGS...       run it (building it first if missing)
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=go-tool.sh
source "$(dirname "${BASH_SOURCE[0]}")/go-tool.sh"

HELM_VERSION="v3.22.0"
HELM="$(go_tool helm helm.sh/helm/v3/cmd/helm "$HELM_VERSION")"

if [[ "${1:-}" == "--install" ]]; then
  echo "$HELM"
  exit 0
fi
# helm keeps caches and repository config under $HOME by default; the offline render needs neither.
helm_home="${GO_TOOL_BIN_DIR%/bin}/helm"
export HELM_CACHE_HOME="${HELM_CACHE_HOME:-$helm_home/cache}" HELM_CONFIG_HOME="${HELM_CONFIG_HOME:-$helm_home/config}" \
  HELM_DATA_HOME="${HELM_DATA_HOME:-$helm_home/data}"
exec "$HELM" "$@"
