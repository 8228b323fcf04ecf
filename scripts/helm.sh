#!/usr/bin/env bash
# Run the pinned helm (the kubernetes engine's tests render the Spark Operator chart offline with `helm template`).
# helm is built from its Go module into the gitignored cache on first run, pinned by version, so a fresh clone
# needs only Go; nothing is fetched again once the binary is there. The build takes several minutes on 2 cores:
# `npm test` starts it at setup, beside the Python setup, so jest finds it ready.
#   bash scripts/helm.sh --install     build it if missing and print its path
#   bash scripts/helm.sh ARGS...       run it (building it first if missing)
set -euo pipefail

HELM_VERSION="v3.22.0"
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE_DIR="${STREAMING_CACHE_DIR:-$REPO_ROOT/.cache}"
BIN_DIR="$CACHE_DIR/bin"
# The version is in the file name, so bumping the pin installs the new one instead of reusing a stale binary.
HELM="$BIN_DIR/helm-$HELM_VERSION"

die() { echo "error: $*" >&2; exit 1; }

if [[ ! -x "$HELM" ]]; then
  command -v go >/dev/null \
    || die "helm $HELM_VERSION is not in $BIN_DIR and Go is not installed to build it; install Go (https://go.dev/dl/) and re-run"
  echo "installing helm $HELM_VERSION into $BIN_DIR (go install; several minutes on a cold cache)" >&2
  mkdir -p "$BIN_DIR"
  gobin="$(mktemp -d)"
  trap 'rm -rf "$gobin"' EXIT
  # CGO off: a static binary that does not depend on the machine's C toolchain.
  CGO_ENABLED=0 GOBIN="$gobin" go install "helm.sh/helm/v3/cmd/helm@$HELM_VERSION" \
    || die "go install helm.sh/helm/v3/cmd/helm@$HELM_VERSION failed (see above)"
  [[ -x "$gobin/helm" ]] || die "go install reported success but produced no helm binary in $gobin"
  # Rename into place last, so an interrupted build never leaves a half-written binary under the pinned name.
  mv "$gobin/helm" "$HELM.partial.$$" && mv "$HELM.partial.$$" "$HELM"
fi

if [[ "${1:-}" == "--install" ]]; then
  echo "$HELM"
  exit 0
fi
# helm keeps caches and repository config under $HOME by default; the offline render needs neither.
export HELM_CACHE_HOME="${HELM_CACHE_HOME:-$CACHE_DIR/helm/cache}" HELM_CONFIG_HOME="${HELM_CONFIG_HOME:-$CACHE_DIR/helm/config}" \
  HELM_DATA_HOME="${HELM_DATA_HOME:-$CACHE_DIR/helm/data}"
exec "$HELM" "$@"
