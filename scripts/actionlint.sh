#!/usr/bin/env bash
# Lint the GitHub workflows with actionlint (syntax, expressions, action inputs, and the `run:` scripts through
# the shellcheck binary when it is on PATH). actionlint is built from its Go module into the gitignored cache on first run,
# pinned by version, so a fresh clone needs only Go; nothing is fetched again once the binary is there.
set -euo pipefail

ACTIONLINT_VERSION="v1.7.12"
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE_DIR="${STREAMING_CACHE_DIR:-$REPO_ROOT/.cache}"
BIN_DIR="$CACHE_DIR/bin"
# The version is in the file name, so bumping the pin installs the new one instead of reusing a stale binary.
ACTIONLINT="$BIN_DIR/actionlint-$ACTIONLINT_VERSION"

die() { echo "error: $*" >&2; exit 1; }

if [[ ! -x "$ACTIONLINT" ]]; then
  command -v go >/dev/null \
    || die "actionlint $ACTIONLINT_VERSION is not in $BIN_DIR and Go is not installed to build it; install Go (https://go.dev/dl/) and re-run"
  echo "installing actionlint $ACTIONLINT_VERSION into $BIN_DIR (go install)" >&2
  mkdir -p "$BIN_DIR"
  gobin="$(mktemp -d)"
  trap 'rm -rf "$gobin"' EXIT
  GOBIN="$gobin" go install "github.com/rhysd/actionlint/cmd/actionlint@$ACTIONLINT_VERSION" \
    || die "go install github.com/rhysd/actionlint/cmd/actionlint@$ACTIONLINT_VERSION failed (see above)"
  [[ -x "$gobin/actionlint" ]] || die "go install reported success but produced no actionlint binary in $gobin"
  mv "$gobin/actionlint" "$ACTIONLINT"
fi

workflows=("$REPO_ROOT"/.github/workflows/*.yml)
[[ -e "${workflows[0]}" ]] || die "no workflow files found under $REPO_ROOT/.github/workflows"
if ! command -v shellcheck >/dev/null; then
  echo "note: shellcheck is not on PATH, so actionlint does not check the workflows' run: scripts" >&2
fi
cd "$REPO_ROOT"
"$ACTIONLINT" -no-color "${workflows[@]#"$REPO_ROOT"/}"
echo "actionlint $ACTIONLINT_VERSION: ${#workflows[@]} workflow file(s) clean"
