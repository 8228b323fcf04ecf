#!/usr/bin/env bash
# Prepare what the consumer's tests and benchmark need (sourced by test-python.sh and bench-consumer.sh,
# or run on its own): .venv/ at the repo root from the pinned jobs/streaming-consumer/requirements*.txt
# (re-created only when they change), the job's jars (jvm-dependencies.txt) and its own UDF jar (built from
# jobs/streaming-consumer/jvm/ with javac) into .cache/jars and a Kafka broker into .cache/kafka-*/ with Maven.
# Needs Python 3.11, JDK 17 (with javac), Maven, and PyPI/Maven Central.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

python="${PYTHON:-}"
if [[ -z "$python" ]]; then
  for candidate in python3.11 python3; do
    if command -v "$candidate" >/dev/null; then python="$candidate"; break; fi
  done
fi
[[ -n "$python" ]] || die "Python 3.11 is needed (set PYTHON=/path/to/python3.11)"
"$python" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else 1)' \
  || die "$python is $("$python" --version 2>&1); PySpark 3.5 here is pinned and tested on Python 3.11 (set PYTHON=)"
command -v java >/dev/null || die "java is not installed; Spark and Kafka need JDK 17"
java_major=$(java -XshowSettings:properties -version 2>&1 | awk -F'= ' '/java.specification.version/ {print $2}')
[[ "$java_major" == "17" ]] || die "java is version $java_major; Spark 3.5 and the tests need JDK 17 (set JAVA_HOME/PATH)"

venv="$REPO_ROOT/.venv"
want="$(cat "$JOB_DIR"/requirements*.txt | sha256sum | cut -d' ' -f1)"
if [[ ! -x "$venv/bin/python" || "$(cat "$venv/.requirements-hash" 2>/dev/null)" != "$want" ]]; then
  echo "creating Python environment in $venv" >&2
  "$python" -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$JOB_DIR/requirements-dev.txt"
  echo "$want" >"$venv/.requirements-hash"
fi

spark_jars="$("$venv/bin/python" -c 'import os, pyspark; print(os.path.join(os.path.dirname(pyspark.__file__), "jars"))')"
# The fetched jars and the job's UDF jar (streaming-consumer-udfs.jar), against the pip pyspark's Spark.
bash "$REPO_ROOT/scripts/fetch-jars.sh" "$CACHE_DIR/jars" "$spark_jars" >&2
bash "$REPO_ROOT/scripts/fetch-kafka.sh" >&2
# The jars the EMR engine ships with the job (the program under test checks them against the lock), and its UDF jar.
bash "$REPO_ROOT/scripts/fetch-emr-jars.sh" >&2

export STREAMING_JARS_DIR="$CACHE_DIR/jars"
export PYARROW_IGNORE_TIMEZONE=1
export VENV_PYTHON="$venv/bin/python"
