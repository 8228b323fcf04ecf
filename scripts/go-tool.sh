# Builds a Go tool the tests need into the gitignored cache, pinned by version (sourced by actionlint.sh and helm.sh).
# shellcheck shell=bash
# A fresh clone needs only Go; nothing is fetched again once the binary is there. The version is in the file name,
# so bumping a pin installs the new one instead of reusing a stale binary.

GO_TOOL_REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
GO_TOOL_BIN_DIR="${STREAMING_CACHE_DIR:-$GO_TOOL_REPO_ROOT/.cache}/bin"

# go_tool NAME PACKAGE VERSION: prints the path of NAME-VERSION in the cache, building `go install PACKAGE@VERSION`
# first if it is missing. Fails, saying why, when Go is missing or the build fails.
go_tool() {
  local name=$1 package=$2 version=$3
  local binary="$GO_TOOL_BIN_DIR/$name-$version"
  if [[ ! -x "$binary" ]]; then
    command -v go >/dev/null \
      || { echo "error: $name $version is not in $GO_TOOL_BIN_DIR and Go is not installed to build it; install Go (https://go.dev/dl/) and re-run" >&2; return 1; }
    echo "installing $name $version into $GO_TOOL_BIN_DIR (go install)" >&2
    mkdir -p "$GO_TOOL_BIN_DIR"
    local gobin
    gobin="$(mktemp -d)"
    # CGO off: a static binary that does not depend on the machine's C toolchain.
    if ! CGO_ENABLED=0 GOBIN="$gobin" go install "$package@$version"; then
      rm -rf "$gobin"
      echo "error: go install $package@$version failed (see above)" >&2
      return 1
    fi
    if [[ ! -x "$gobin/$name" ]]; then
      rm -rf "$gobin"
      echo "error: go install reported success but produced no $name binary" >&2
      return 1
    fi
    # Renamed into place last, so an interrupted build never leaves a half-written binary under the pinned name.
    mv "$gobin/$name" "$binary.partial.$$" && mv "$binary.partial.$$" "$binary"
    rm -rf "$gobin"
  fi
  echo "$binary"
}
