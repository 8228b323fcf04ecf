#!/usr/bin/env bash
# Fetch the jars jobs/streaming-consumer/emr-jars.lock.json lists into .cache/emr-jars/ and check each one's sha256,
# then build the job's own JVM functions there (jobs/streaming-consumer/build-udfs.sh: streaming-consumer-udfs.jar,
# from the repository's sources, so not in the Maven lock; the stamp beside it names the sources it was built from).
# `pulumi up` (engine emr) uploads them from there next to the job; a missing or changed jar, or a UDF jar built from
# other sources, stops it with the command to run (this one). Re-running with every jar in place and intact, and the
# Java sources unchanged, does nothing.
#
# The UDF jar is compiled against the pip pyspark's jars when .venv/ exists (scripts/setup-python.sh), otherwise
# against spark-sql and its dependencies resolved with Maven at the pyspark version requirements.txt pins (the Spark
# the image and the tests compile against; the functions use only Spark 3.5's stable UDF API, so one jar serves
# every EMR 7 Spark 3.5.x).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

lock="$JOB_DIR/emr-jars.lock.json"
dest="${EMR_JARS_DIR:-$CACHE_DIR/emr-jars}"
[[ -f "$lock" ]] || die "$lock is missing; generate it with scripts/lock-emr-jars.sh"
mkdir -p "$dest"

# "coordinate<TAB>file<TAB>sha256" for every distinct jar of every Spark version in the lock.
entries="$(python3 -c '
import json, sys
lock = json.load(open(sys.argv[1]))
seen = {}
for jars in lock["sparkVersions"].values():
    for j in jars:
        seen[j["file"]] = (j["coordinate"], j["sha256"])
for name in sorted(seen):
    print(f"{seen[name][0]}\t{name}\t{seen[name][1]}")
' "$lock")"

intact() { [[ -f "$dest/$1" && "$(sha256sum "$dest/$1" | cut -d' ' -f1)" == "$2" ]]; }

# One Maven run per round: a pom can hold only one version of an artifact, and the lock has one per Spark version.
fetch_round() {
  local work deps="" seen=" " coord g a v
  work="$(mktemp -d)"
  for coord in "$@"; do
    IFS=: read -r g a v <<<"$coord"
    [[ "$seen" == *" $g:$a "* ]] && continue
    seen+="$g:$a "
    deps+="<dependency><groupId>$g</groupId><artifactId>$a</artifactId><version>$v</version></dependency>"
  done
  cat >"$work/pom.xml" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>
<groupId>local</groupId><artifactId>emr-jars</artifactId><version>0</version>
<dependencies>$deps</dependencies></project>
POM
  if ! (cd "$work" && mvn -B -q dependency:copy-dependencies -DexcludeTransitive=true -DoutputDirectory="$dest" >"$work/mvn.log" 2>&1); then
    cat "$work/mvn.log" >&2
    rm -rf "$work"
    die "Maven could not fetch the EMR jars listed in $lock"
  fi
  rm -rf "$work"
}

for _ in 1 2 3 4 5 6 7 8; do
  missing=()
  while IFS=$'\t' read -r coord file sum; do
    intact "$file" "$sum" || missing+=("$coord")
  done <<<"$entries"
  (( ${#missing[@]} > 0 )) || break
  command -v mvn >/dev/null || die "Maven (mvn) is not installed; it is needed to fetch the EMR jars"
  fetch_round "${missing[@]}"
done

bad=()
while IFS=$'\t' read -r _ file sum; do
  intact "$file" "$sum" || bad+=("$file")
done <<<"$entries"
(( ${#bad[@]} == 0 )) || die "these jars do not match the sha256 in $lock: ${bad[*]}; if jvm-dependencies.txt changed, run scripts/lock-emr-jars.sh and review the new lock"
echo "EMR jars ($(wc -l <<<"$entries")) present and intact in $dest" >&2

# The job's JVM functions.
python="$REPO_ROOT/.venv/bin/python"
if [[ -x "$python" ]] && spark_jars="$("$python" -c 'import os, pyspark; print(os.path.join(os.path.dirname(pyspark.__file__), "jars"))' 2>/dev/null)"; then
  bash "$JOB_DIR/build-udfs.sh" "$dest" "$spark_jars"
else
  version="$(sed -n 's/^pyspark==\([0-9.]*\)$/\1/p' "$JOB_DIR/requirements.txt")"
  [[ -n "$version" ]] || die "no pyspark==X.Y.Z pin in $JOB_DIR/requirements.txt: the UDF jar compiles against that Spark"
  command -v mvn >/dev/null || die "Maven (mvn) is not installed; it is needed to resolve Spark's jars to build the UDF jar (or run scripts/setup-python.sh first)"
  resolved="$(mvn_resolve "org.apache.spark:spark-sql_2.12:$version")"
  classpath="$(mktemp -d)"
  trap 'rm -rf "$classpath"' EXIT
  while IFS=$'\t' read -r _ path; do
    ln -s "$path" "$classpath/"
  done <<<"$resolved"
  bash "$JOB_DIR/build-udfs.sh" "$dest" "$classpath"
fi
