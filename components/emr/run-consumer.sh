#!/bin/bash
# run-consumer.sh APP_NAME SPARK_SUBMIT_ARG...
#
# The EMR step that runs the streaming consumer. In YARN cluster mode the driver lives in the application
# master, not in the step's process tree: cancelling the step (SIGTERM to its child process) stops only the
# spark-submit client and the driver would keep running. Exactly one consumer may run per checkpoint, so this
# launcher owns the YARN application by name:
#   1. before submitting, it kills every live YARN application named APP_NAME and waits until they are gone
#      (a driver a previous cancel left behind must not share the checkpoint with the new one);
#   2. it runs `spark-submit --name APP_NAME ...` and waits for the application to end;
#   3. on SIGTERM/SIGINT (EMR's SEND_INTERRUPT cancel) it kills the application, waits until it is gone,
#      and only then exits non-zero, so EMR reports the step stopped only once the driver is.
# SIGKILL (TERMINATE_PROCESS) cannot be trapped: never cancel this step with it.
#
# Environment (tests point the commands at stand-ins):
#   YARN_BIN              yarn CLI (default: yarn)
#   SPARK_SUBMIT_BIN      spark-submit (default: spark-submit)
#   STOP_TIMEOUT_SECONDS  how long to wait for killed applications to go (default: 600)
#   POLL_SECONDS          how often to look again (default: 5)
#   KILL_TIMEOUT_SECONDS  bound of one `yarn application -kill`, which otherwise waits without limit (default: 60)
set -euo pipefail

YARN_BIN="${YARN_BIN:-yarn}"
SPARK_SUBMIT_BIN="${SPARK_SUBMIT_BIN:-spark-submit}"
STOP_TIMEOUT_SECONDS="${STOP_TIMEOUT_SECONDS:-600}"
POLL_SECONDS="${POLL_SECONDS:-5}"
KILL_TIMEOUT_SECONDS="${KILL_TIMEOUT_SECONDS:-60}"
# Every state in which an application can still start or run a driver.
readonly LIVE_STATES="NEW,NEW_SAVING,SUBMITTED,ACCEPTED,RUNNING"

log() {
    printf '%s run-consumer: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >&2
}

die() {
    log "error: $*"
    exit 1
}

if [ "$#" -lt 2 ] || [ -z "$1" ]; then
    echo "usage: $0 APP_NAME SPARK_SUBMIT_ARG..." >&2
    exit 2
fi
APP_NAME=$1
shift

# The ids of the live YARN applications named exactly APP_NAME, one per line. `yarn application -list` prints
# log lines and headers around tab-separated, space-padded rows; only rows whose first field is an
# application id count, and names are compared after trimming, never as a pattern or prefix.
live_apps() {
    local listing
    if ! listing=$("$YARN_BIN" application -list -appStates "$LIVE_STATES"); then
        log "could not list YARN applications (is the ResourceManager up?)"
        return 1
    fi
    printf '%s\n' "$listing" | awk -F'\t' -v name="$APP_NAME" '
        function trim(s) { gsub(/^[ \t\r]+|[ \t\r]+$/, "", s); return s }
        {
            id = trim($1)
            if (id ~ /^application_[0-9]+_[0-9]+$/ && NF >= 2 && trim($2) == name) print id
        }'
}

# Kills every live application named APP_NAME and waits, bounded, until none is left. Fails naming the
# applications that are still there when the time is up, but never before it has asked YARN to kill them.
stop_apps() {
    local why=$1 deadline ids id killed=0
    deadline=$((SECONDS + STOP_TIMEOUT_SECONDS))
    while :; do
        ids=$(live_apps) || die "cannot tell whether YARN application ${APP_NAME} is still running ($why)"
        if [ -z "$ids" ]; then
            return 0
        fi
        # -gt: SECONDS counts whole seconds, so this waits at least STOP_TIMEOUT_SECONDS.
        if [ "$killed" = 1 ] && [ "$SECONDS" -gt "$deadline" ]; then
            die "YARN application(s) $(echo "$ids" | paste -sd' ' -) named ${APP_NAME} still live ${STOP_TIMEOUT_SECONDS}s after being killed ($why); kill them by hand (yarn application -kill <id>), then run the step again"
        fi
        for id in $ids; do
            log "killing YARN application $id named ${APP_NAME} ($why)"
            timeout "$KILL_TIMEOUT_SECONDS" "$YARN_BIN" application -kill "$id" >&2 || log "yarn application -kill $id exited $?; checking again"
        done
        killed=1
        sleep "$POLL_SECONDS"
    done
}

submit_pid=""

# Run by the traps below, which shellcheck does not follow.
# shellcheck disable=SC2317,SC2329
on_signal() {
    local signal=$1 code=$2
    trap '' TERM INT
    log "received SIG${signal}: stopping YARN application ${APP_NAME}"
    stop_apps "step cancelled"
    if [ -n "$submit_pid" ] && kill -0 "$submit_pid" 2>/dev/null; then
        kill -TERM "$submit_pid" 2>/dev/null || true
        wait "$submit_pid" 2>/dev/null || true
    fi
    log "YARN application ${APP_NAME} is gone; exiting"
    exit "$code"
}
trap 'on_signal TERM 143' TERM
trap 'on_signal INT 130' INT

stop_apps "before submitting"

log "submitting ${APP_NAME}"
# In the background, so the traps run while it waits: bash runs a trap only after a foreground command ends.
"$SPARK_SUBMIT_BIN" --name "$APP_NAME" --conf spark.yarn.submit.waitAppCompletion=true "$@" &
submit_pid=$!
status=0
wait "$submit_pid" || status=$?
log "spark-submit exited with status $status"
exit "$status"
