#!/usr/bin/env bash
# Start moto's S3-compatible server on 127.0.0.1 at a free port, in the background.
#   scripts/moto-start.sh STATE_DIR      prints the endpoint (http://127.0.0.1:PORT) on stdout
# State is in memory: keep it running across job restarts. Stop with scripts/moto-stop.sh STATE_DIR.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
state=${1:?usage: moto-start.sh STATE_DIR}
mkdir -p "$state"
moto="${MOTO_SERVER:-$REPO_ROOT/.venv/bin/moto_server}"
[[ -x "$moto" ]] || die "moto_server not found at $moto (run scripts/test-python.sh once, or set MOTO_SERVER)"
port=$(free_port)
nohup "$moto" -H 127.0.0.1 -p "$port" >"$state/moto.log" 2>&1 &
echo $! >"$state/pid"
wait_for_port 127.0.0.1 "$port" 30 || { cat "$state/moto.log" >&2; die "moto server did not start on port $port"; }
echo "http://127.0.0.1:$port" | tee "$state/endpoint"
