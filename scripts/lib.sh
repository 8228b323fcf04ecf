# Shared helpers for scripts/*.sh (sourced, not run).
# shellcheck shell=bash disable=SC2034  # variables are for the scripts that source this

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
JOB_DIR="$REPO_ROOT/jobs/streaming-consumer"
CACHE_DIR="${STREAMING_CACHE_DIR:-$REPO_ROOT/.cache}"
# The Kafka broker the tests and the benchmark run against; independent of the client version the job uses.
KAFKA_BROKER_VERSION="${KAFKA_BROKER_VERSION:-3.9.1}"
KAFKA_LIBS="$CACHE_DIR/kafka-$KAFKA_BROKER_VERSION/libs"

die() { echo "error: $*" >&2; exit 1; }

# Resolve Maven coordinates (one per argument) with their runtime dependencies and print
# "group:artifact:version<TAB>/absolute/path.jar" lines. One Maven run, so one JVM start.
mvn_resolve() {
  command -v mvn >/dev/null || die "Maven (mvn) is not installed; it is needed to fetch the jars"
  local work deps=""
  work="$(mktemp -d)"
  for coord in "$@"; do
    IFS=: read -r g a v <<<"$coord"
    [[ -n "$g" && -n "$a" && -n "$v" ]] || die "bad Maven coordinate '$coord' (want group:artifact:version)"
    deps+="<dependency><groupId>$g</groupId><artifactId>$a</artifactId><version>$v</version></dependency>"
  done
  cat >"$work/pom.xml" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>
<groupId>local</groupId><artifactId>resolve</artifactId><version>0</version>
<dependencies>$deps</dependencies></project>
POM
  if ! (cd "$work" && mvn -B -q dependency:list -DincludeScope=runtime -DoutputAbsoluteArtifactFilename=true \
        -DoutputFile="$work/list.txt" >"$work/mvn.log" 2>&1); then
    cat "$work/mvn.log" >&2
    die "Maven could not resolve: $*"
  fi
  # Lines look like "   group:artifact:jar[:classifier]:version:scope:/path/file.jar" (newer plugins add " -- module ...").
  sed -e 's/ -- .*$//' -e 's/^ *//' "$work/list.txt" | awk -F: 'NF>=6 && $3=="jar" {
      if (NF==6) printf "%s:%s:%s\t%s\n", $1, $2, $4, $6; else printf "%s:%s:%s\t%s\n", $1, $2, $5, $7 }'
  rm -rf "$work"
}

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
