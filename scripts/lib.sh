# Shared helpers for scripts/*.sh (sourced, not run).
# shellcheck shell=bash disable=SC2034  # variables are for the scripts that source this

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
JOB_DIR="$REPO_ROOT/jobs/streaming-consumer"
CACHE_DIR="${STREAMING_CACHE_DIR:-$REPO_ROOT/.cache}"
# The Kafka broker the tests and the benchmark run against; independent of the client version the job uses.
KAFKA_BROKER_VERSION="${KAFKA_BROKER_VERSION:-3.9.1}"
KAFKA_LIBS="$CACHE_DIR/kafka-$KAFKA_BROKER_VERSION/libs"

die() { echo "error: $*" >&2; exit 1; }

# shellcheck source-path=SCRIPTDIR source=../jobs/streaming-consumer/mvn-resolve.sh
source "$JOB_DIR/mvn-resolve.sh"

# Free TCP port on 127.0.0.1 (racy by nature; callers start the service right away).
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# Wait until host:port accepts TCP connections, or fail after $3 seconds.
wait_for_port() {
  local host=$1 port=$2 timeout=${3:-60} start=$SECONDS
  until (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; do
    (( SECONDS - start < timeout )) || return 1
    sleep 0.2
  done
}
