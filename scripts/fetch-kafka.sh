#!/usr/bin/env bash
# Fetch an Apache Kafka broker (and its tools, for ConsumerPerformance) from Maven Central into
# .cache/kafka-<version>/libs. Tests and the benchmark need a real broker; no Docker here.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

stamp="$KAFKA_LIBS/.stamp"
if [[ -f "$stamp" ]]; then echo "Kafka $KAFKA_BROKER_VERSION already in $KAFKA_LIBS"; exit 0; fi
resolved="$(mvn_resolve "org.apache.kafka:kafka_2.13:$KAFKA_BROKER_VERSION" "org.apache.kafka:kafka-tools:$KAFKA_BROKER_VERSION")"
rm -rf "$KAFKA_LIBS" && mkdir -p "$KAFKA_LIBS"
cut -f2 <<<"$resolved" | xargs -I{} cp {} "$KAFKA_LIBS/"
# The broker logs through log4j 1 API (reload4j) in 3.x; without a binding it prints nothing useful.
touch "$stamp"
echo "fetched Kafka $KAFKA_BROKER_VERSION ($(find "$KAFKA_LIBS" -name "*.jar" | wc -l) jars) into $KAFKA_LIBS"
