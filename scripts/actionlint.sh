#!/usr/bin/env bash
# Lint the GitHub workflows with actionlint (syntax, expressions, action inputs, and the `run:` scripts through
# the shellcheck binary when it is on PATH). actionlint is built from its Go module into the gitignored cache on first
# run, pinned by version (scripts/go-tool.sh).
set -euo pipefail

ACTIONLINT_VERSION="v1.7.12"
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source-path=SCRIPTDIR source=go-tool.sh
source "$REPO_ROOT/scripts/go-tool.sh"
ACTIONLINT="$(go_tool actionlint github.com/rhysd/actionlint/cmd/actionlint "$ACTIONLINT_VERSION")"

die() { echo "error: $*" >&2; exit 1; }

workflows=("$REPO_ROOT"/.github/workflows/*.yml)
[[ -e "${workflows[0]}" ]] || die "no workflow files found under $REPO_ROOT/.github/workflows"
if ! command -v shellcheck >/dev/null; then
  echo "note: shellcheck is not on PATH, so actionlint does not check the workflows' run: scripts" >&2
fi
cd "$REPO_ROOT"
"$ACTIONLINT" -no-color "${workflows[@]#"$REPO_ROOT"/}"
echo "actionlint $ACTIONLINT_VERSION: ${#workflows[@]} workflow file(s) clean"
