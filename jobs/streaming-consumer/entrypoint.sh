#!/usr/bin/env bash
# Entrypoint of the streaming-consumer image: one image, every Spark role.
#
#   entrypoint.sh master              standalone master, foreground
#       SPARK_MASTER_HOST (default: hostname)  SPARK_MASTER_PORT (7077)  SPARK_MASTER_WEBUI_PORT (8080)
#   entrypoint.sh worker              standalone worker, foreground
#       SPARK_MASTER_URL (required, e.g. spark://spark-master.internal:7077)
#       SPARK_WORKER_CORES, SPARK_WORKER_MEMORY (default: all)  SPARK_WORKER_WEBUI_PORT (8081)
#   entrypoint.sh history             history server, foreground, UI on 18080
#       SPARK_HISTORY_LOG_DIR (required, e.g. s3a://bucket/logs/spark-events/)
#   entrypoint.sh consumer [job flags...]
#       spark-submit of main.py in client mode against SPARK_MASTER_URL (default local[*]); the job
#       flags pass through unchanged (see README.md). UI on 4040.
#       SPARK_EVENT_LOG_DIR (optional): turns on event logging to that folder.
#       KAFKA_TOPICS (optional): JSON list [{"name":..,"partitions":..,"replicationFactor":..,"retentionMs":..}];
#         missing topics are created (existing ones left alone) before the query starts.
#       SPARK_DRIVER_HOST (optional): address executors use to reach the driver.
#       SPARK_SUBMIT_OPTS_EXTRA (optional): more spark-submit options, word-split.
#       SIGTERM is forwarded to the Python driver: the running batch commits and it exits 0 (or 4 if the batch
#         outlasts --stop-grace-period; see README.md).
#   entrypoint.sh producer --bootstrap-servers H:P --topic T [--events-per-second N] [--malformed-percent P]
#       the demo producer (demo_producer/, engine local): valid events plus a share of malformed ones.
#   entrypoint.sh driver --properties-file F --class C <main file> [job flags...]
#       Spark on Kubernetes (the Spark Operator's spark-submit in cluster mode) starts the driver pod with these
#       arguments. Runs spark-submit in client mode inside the pod like the Spark image's own entrypoint does,
#       but with the consumer's SIGTERM forwarding, so deleting the pod stops the query cleanly.
#       SPARK_DRIVER_BIND_ADDRESS (required; Spark sets it to the pod's IP). KAFKA_TOPICS as for consumer.
#   entrypoint.sh executor
#       A Spark on Kubernetes executor pod: handed to the Spark image's own entrypoint unchanged.
#
# Overridable locations, so tests run this script outside Docker with the pip pyspark:
#   SPARK_HOME (default /opt/spark)
#   STREAMING_CONSUMER_JARS_DIR (default $SPARK_HOME/jars): the connector jars. When it is not Spark's
#     own jars folder they go on the classpath through SPARK_DIST_CLASSPATH, which puts them in the
#     same (system) classloader as in the image: aws-msk-iam-auth must load beside kafka-clients.
#   STREAMING_CONSUMER_HOME (default: this script's folder): where main.py and streaming_consumer/ are.
#   SPARK_IMAGE_ENTRYPOINT (default /opt/entrypoint.sh): the Spark image's entrypoint, for the executor role.
set -euo pipefail

SPARK_HOME="${SPARK_HOME:-/opt/spark}"
export SPARK_HOME
JOB_HOME="${STREAMING_CONSUMER_HOME:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)}"
JARS_DIR="${STREAMING_CONSUMER_JARS_DIR:-$SPARK_HOME/jars}"

die() { echo "entrypoint: $*" >&2; exit 64; }

[[ -x "$SPARK_HOME/bin/spark-class" ]] || die "SPARK_HOME=$SPARK_HOME has no bin/spark-class"
[[ -d "$JARS_DIR" ]] || die "STREAMING_CONSUMER_JARS_DIR=$JARS_DIR does not exist"
if [[ "$(cd "$JARS_DIR" && pwd -P)" != "$(cd "$SPARK_HOME/jars" && pwd -P)" ]]; then
  export SPARK_DIST_CLASSPATH="$JARS_DIR/*${SPARK_DIST_CLASSPATH:+:$SPARK_DIST_CLASSPATH}"
fi

role="${1:-}"
[[ $# -gt 0 ]] && shift

# Runs spark-submit with the given arguments until it exits, and returns its status. spark-submit runs the JVM, which
# runs Python as its child. A SIGTERM to the JVM would tear the session down under the running batch; sent to the
# Python driver it stops the query between writes and exits 0, after which the JVM exits on its own. So: run in the
# background, forward.
submit_forwarding_term() {
  "$SPARK_HOME/bin/spark-submit" "$@" &
  submit_pid=$!
  # shellcheck disable=SC2317,SC2329 # invoked by the trap
  forward() {
    local drivers
    drivers="$(pgrep -P "$submit_pid" -f 'main\.py' || true)"
    if [[ -n "$drivers" ]]; then
      # shellcheck disable=SC2086
      kill -TERM $drivers 2>/dev/null || true
    else
      kill -TERM "$submit_pid" 2>/dev/null || true
    fi
  }
  trap forward TERM INT
  status=0
  while true; do
    wait "$submit_pid" && status=0 || status=$?
    # wait returns >128 when a trapped signal interrupted it; the child may still be running.
    kill -0 "$submit_pid" 2>/dev/null || break
  done
  return "$status"
}

case "$role" in
  master)
    exec "$SPARK_HOME/bin/spark-class" org.apache.spark.deploy.master.Master \
      --host "${SPARK_MASTER_HOST:-$(hostname)}" \
      --port "${SPARK_MASTER_PORT:-7077}" \
      --webui-port "${SPARK_MASTER_WEBUI_PORT:-8080}" "$@"
    ;;
  worker)
    [[ -n "${SPARK_MASTER_URL:-}" ]] || die "worker needs SPARK_MASTER_URL (e.g. spark://spark-master.internal:7077)"
    args=(--webui-port "${SPARK_WORKER_WEBUI_PORT:-8081}")
    [[ -n "${SPARK_WORKER_CORES:-}" ]] && args+=(--cores "$SPARK_WORKER_CORES")
    [[ -n "${SPARK_WORKER_MEMORY:-}" ]] && args+=(--memory "$SPARK_WORKER_MEMORY")
    exec "$SPARK_HOME/bin/spark-class" org.apache.spark.deploy.worker.Worker "${args[@]}" "$@" "$SPARK_MASTER_URL"
    ;;
  history)
    [[ -n "${SPARK_HISTORY_LOG_DIR:-}" ]] || die "history needs SPARK_HISTORY_LOG_DIR (e.g. s3a://bucket/logs/spark-events/)"
    export SPARK_HISTORY_OPTS="${SPARK_HISTORY_OPTS:-} -Dspark.history.fs.logDirectory=$SPARK_HISTORY_LOG_DIR -Dspark.history.ui.port=18080"
    exec "$SPARK_HOME/bin/spark-class" org.apache.spark.deploy.history.HistoryServer "$@"
    ;;
  consumer)
    submit=(--master "${SPARK_MASTER_URL:-local[*]}" --deploy-mode client --name streaming-consumer)
    if [[ -n "${SPARK_EVENT_LOG_DIR:-}" ]]; then
      submit+=(--conf spark.eventLog.enabled=true --conf "spark.eventLog.dir=$SPARK_EVENT_LOG_DIR")
    fi
    [[ -n "${SPARK_DRIVER_HOST:-}" ]] && submit+=(--conf "spark.driver.host=$SPARK_DRIVER_HOST")
    # shellcheck disable=SC2206 # word splitting is the point: a list of options in one variable
    [[ -n "${SPARK_SUBMIT_OPTS_EXTRA:-}" ]] && submit+=($SPARK_SUBMIT_OPTS_EXTRA)
    job=("$@")
    [[ -n "${KAFKA_TOPICS:-}" ]] && job+=(--ensure-topics "$KAFKA_TOPICS")
    status=0
    submit_forwarding_term "${submit[@]}" "$JOB_HOME/main.py" "${job[@]}" || status=$?
    exit "$status"
    ;;
  producer)
    export PYTHONPATH="$JOB_HOME${PYTHONPATH:+:$PYTHONPATH}"
    exec "${PYSPARK_PYTHON:-python3}" -m demo_producer "$@"
    ;;
  driver)
    [[ -n "${SPARK_DRIVER_BIND_ADDRESS:-}" ]] || die "driver needs SPARK_DRIVER_BIND_ADDRESS (Spark on Kubernetes sets it to the pod's IP)"
    # The arguments end with the job's flags, so --ensure-topics goes last, as for consumer.
    job=("$@")
    [[ -n "${KAFKA_TOPICS:-}" ]] && job+=(--ensure-topics "$KAFKA_TOPICS")
    status=0
    submit_forwarding_term --conf "spark.driver.bindAddress=$SPARK_DRIVER_BIND_ADDRESS" \
      --conf "spark.executorEnv.SPARK_DRIVER_POD_IP=$SPARK_DRIVER_BIND_ADDRESS" \
      --deploy-mode client "${job[@]}" || status=$?
    exit "$status"
    ;;
  executor)
    exec "${SPARK_IMAGE_ENTRYPOINT:-/opt/entrypoint.sh}" executor "$@"
    ;;
  ""|-h|--help)
    sed -n '2,/^set -euo pipefail$/{/^#/p}' "${BASH_SOURCE[0]}"
    [[ -n "$role" ]] || exit 64
    ;;
  *)
    die "unknown role '$role'; expected one of: master, worker, history, consumer, driver, executor, producer"
    ;;
esac
