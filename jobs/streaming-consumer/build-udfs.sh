#!/usr/bin/env bash
# Build the consumer's JVM functions (jvm/src/**/*.java) into DEST_DIR/streaming-consumer-udfs.jar.
#
#   build-udfs.sh DEST_DIR SPARK_JARS_DIR
#
# Compiled against the Spark jars the job runs with (SPARK_JARS_DIR: an image's /opt/spark/jars, PySpark's jars),
# for Java 11 bytecode, so any JVM Spark 3.5 supports on the hosts (11, 17) loads it. The jar is reproducible: fixed
# entry times and order, so the same sources give the same bytes (the EMR engine keys its upload by content hash).
# Re-running with unchanged sources is a no-op (the jar's stamp holds their hash).
# Used by the Dockerfile (it lives here, inside the image's build context), by scripts/fetch-jars.sh for the tests
# and the benchmarks (into the same folder as the fetched jars) and by scripts/fetch-emr-jars.sh for the EMR engine.
# Not a Maven coordinate: the jar is built from this repository's own sources, so it is never in jvm-dependencies.txt
# or emr-jars.lock.json; the stamp beside it (.streaming-consumer-udfs.jar.hash) says which sources it was built from.
set -euo pipefail
JOB_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
die() { echo "error: $*" >&2; exit 1; }

usage="usage: build-udfs.sh DEST_DIR SPARK_JARS_DIR"
dest=${1:?$usage}
spark_jars=${2:?$usage}
[[ $# -eq 2 ]] || die "$usage"
[[ -d "$spark_jars" ]] || die "Spark jars folder '$spark_jars' does not exist"
# Absolute: javac runs from the job's folder.
spark_jars="$(cd "$spark_jars" && pwd)"
compgen -G "$spark_jars/spark-sql_*.jar" >/dev/null || die "'$spark_jars' holds no spark-sql jar: point it at Spark's jars folder"
command -v javac >/dev/null || die "javac is not installed: building the consumer's JVM functions needs a JDK (11 or later)"

jar_name=streaming-consumer-udfs.jar
mapfile -t sources < <(cd "$JOB_DIR" && find jvm/src -name '*.java' | LC_ALL=C sort)
[[ ${#sources[@]} -gt 0 ]] || die "no Java sources under $JOB_DIR/jvm/src"
want="$( (cd "$JOB_DIR" && cat "${sources[@]}" build-udfs.sh) | sha256sum | cut -d' ' -f1)"
mkdir -p "$dest"
if [[ -f "$dest/$jar_name" && "$(cat "$dest/.$jar_name.hash" 2>/dev/null)" == "$want" ]]; then
  exit 0
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$JOB_DIR" && javac -nowarn -Xlint:-options --release 11 -encoding UTF-8 -cp "$spark_jars/*" -d "$work/classes" "${sources[@]}") \
  || die "javac could not compile $JOB_DIR/jvm/src against the Spark jars in $spark_jars (errors above)"
# A fixed date (any within the zip format's range) and sorted entries: the same sources give the same jar.
(cd "$work/classes" && find . -type f | LC_ALL=C sort >"$work/entries" \
  && jar --create --no-manifest --date=2026-01-01T00:00:00Z --file "$work/$jar_name" @"$work/entries")
mv "$work/$jar_name" "$dest/$jar_name"
echo "$want" >"$dest/.$jar_name.hash"
echo "built $dest/$jar_name" >&2
