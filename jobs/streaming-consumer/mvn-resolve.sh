# mvn_resolve: Maven resolution shared by fetch-jars.sh (in the image build) and scripts/lib.sh (the tests'
# Kafka broker). Sourced, not run; expects a `die` function. It lives in the image's build context so the
# Dockerfile needs nothing from outside it.
# shellcheck shell=bash

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
