#!/usr/bin/env bash
# Start a single-node Apache Kafka broker (KRaft, broker+controller) on 127.0.0.1, in the background.
#
#   scripts/kafka-start.sh STATE_DIR      prints the bootstrap server (127.0.0.1:PORT) on stdout
#
# Ports are chosen free at first start and kept in STATE_DIR, so running it again on the same STATE_DIR
# restarts the same broker with the same data and address (the tests restart the broker mid-stream).
# Stop it with scripts/kafka-stop.sh STATE_DIR. Jars come from scripts/fetch-kafka.sh.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

state=${1:?usage: kafka-start.sh STATE_DIR}
mkdir -p "$state"
state="$(cd "$state" && pwd)"
[[ -f "$KAFKA_LIBS/.stamp" ]] || bash "$REPO_ROOT/scripts/fetch-kafka.sh" >&2
command -v java >/dev/null || die "java is not installed; the Kafka broker needs a JDK 17"

if [[ -f "$state/pid" ]] && kill -0 "$(cat "$state/pid")" 2>/dev/null; then
  die "a broker from $state is already running (pid $(cat "$state/pid"))"
fi

if [[ ! -f "$state/server.properties" ]]; then
  port=$(free_port); cport=$(free_port)
  while [[ "$cport" == "$port" ]]; do cport=$(free_port); done
  cat >"$state/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$cport
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$port
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
log.dirs=$state/data
num.partitions=1
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
PROPS
  cat >"$state/log4j.properties" <<'L4J'
log4j.rootLogger=INFO, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka=INFO
log4j.logger.org.apache.kafka=WARN
log4j.logger.kafka.server.KafkaRaftServer=INFO
L4J
  echo "127.0.0.1:$port" >"$state/bootstrap"
fi

cp_="$KAFKA_LIBS/*"
java_opts=(-Xms256m -Xmx768m -XX:+UseG1GC -Dlog4j.configuration="file:$state/log4j.properties" -cp "$cp_")
if [[ ! -f "$state/data/meta.properties" ]]; then
  cluster_id=$(java "${java_opts[@]}" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -1)
  java "${java_opts[@]}" kafka.tools.StorageTool format -t "$cluster_id" -c "$state/server.properties" \
    >"$state/format.log" 2>&1 || { cat "$state/format.log" >&2; die "formatting Kafka storage in $state/data failed"; }
fi

bootstrap=$(cat "$state/bootstrap")
# The log is appended across restarts: only what this start writes counts (a restart must not take the previous
# start's "started" line for its own). No `grep -q`: it would close the pipe early, and pipefail would take the
# SIGPIPE of tail for "not started".
log_from=$(( $(stat -c %s "$state/server.log" 2>/dev/null || echo 0) + 1 ))
nohup java "${java_opts[@]}" kafka.Kafka "$state/server.properties" >>"$state/server.log" 2>&1 &
echo $! >"$state/pid"
start=$SECONDS
# "started" line, not just the port: the port opens before the broker can serve metadata.
until tail -c "+$log_from" "$state/server.log" 2>/dev/null | grep "Kafka Server started\|KafkaRaftServer.*started" >/dev/null; do
  if ! kill -0 "$(cat "$state/pid")" 2>/dev/null; then
    tail -50 "$state/server.log" >&2; die "Kafka broker exited during start-up (log: $state/server.log)"
  fi
  # Generous: a JVM start on a loaded 2-core machine can take a minute or more; a healthy start ends the wait early.
  (( SECONDS - start < 180 )) || { tail -50 "$state/server.log" >&2; die "Kafka broker did not start within 180 s"; }
  sleep 0.3
done
wait_for_port 127.0.0.1 "${bootstrap##*:}" 30 || die "Kafka broker is up but $bootstrap does not accept connections"
echo "$bootstrap"
