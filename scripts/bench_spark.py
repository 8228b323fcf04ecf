"""Spark's ceiling for bench_consumer.py, rows (b)-(d): the least a Structured Streaming query must do.

    python scripts/bench_spark.py --mode raw|parse|partition --bootstrap H:P --topic T --output DIR \
        --checkpoint DIR [--max-offsets-per-trigger N] [--conf key=value ...]

  raw        (b) the Kafka `value` as Parquet;
  parse      (c) from_json(value as string, EVENT_SCHEMA), its fields as Parquet;
  partition  (d) (c) plus year/month/day/hour of event_time in UTC (strings), partitionBy those.

Kafka source, Spark's own file sink (writeStream.format("parquet")), trigger(availableNow=True), its own
checkpoint. Like the consumer it prints JSON lines `query_started` and `query_terminated` from a
StreamingQueryListener, which is where bench_consumer.py's timed window opens and closes, and `batch_progress`.
Of the job it imports only the schema (streaming_consumer.schemas), so it measures Spark, not the job.
"""
from __future__ import annotations

import argparse
import json
import sys
import threading
import time

from pyspark.sql import SparkSession
from pyspark.sql import functions as F
from pyspark.sql.streaming import StreamingQueryListener

from streaming_consumer.schemas import EVENT_SCHEMA, PARTITION_COLUMNS

MODES = ("raw", "parse", "partition")


def emit(event: str, **fields) -> None:
    # Same shape as the consumer's lines (streaming_consumer.io.emit), so the driver reads both alike.
    record = {"ts": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "event": event, **fields}
    sys.stdout.write(json.dumps(record, default=str, separators=(",", ":")) + "\n")
    sys.stdout.flush()


class Listener(StreamingQueryListener):
    def __init__(self) -> None:
        self.terminated = threading.Event()

    def onQueryStarted(self, event) -> None:
        emit("query_started", query_id=str(event.id))

    def onQueryProgress(self, event) -> None:
        p = event.progress
        emit("batch_progress", batch_id=p.batchId, rows_in=p.numInputRows,
             batch_duration_ms=(p.durationMs or {}).get("triggerExecution"))

    def onQueryIdle(self, event) -> None:
        pass

    def onQueryTerminated(self, event) -> None:
        emit("query_terminated", query_id=str(event.id), exception=event.exception)
        self.terminated.set()


def transform(df, mode: str):
    """The per-mode plan; `value` is the Kafka record's bytes."""
    if mode == "raw":
        return df.select("value")
    parsed = df.select(F.from_json(F.col("value").cast("string"), EVENT_SCHEMA).alias("r")).select("r.*")
    if mode == "parse":
        return parsed
    # Partition values are the UTC wall clock of event_time. date_format renders in the session time zone, so
    # shift the instant by that zone first (a no-op when the session is already in UTC); no setting changes.
    tz = df.sparkSession.conf.get("spark.sql.session.timeZone")
    utc = F.to_utc_timestamp(F.col("event_time"), tz)
    fmt = dict(zip(PARTITION_COLUMNS, ("yyyy", "MM", "dd", "HH")))
    return parsed.select("*", *[F.date_format(utc, f).alias(c) for c, f in fmt.items()])


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--mode", choices=MODES, required=True)
    p.add_argument("--bootstrap", required=True)
    p.add_argument("--topic", required=True)
    p.add_argument("--output", required=True)
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--max-offsets-per-trigger", type=int)
    p.add_argument("--conf", action="append", default=[], metavar="KEY=VALUE")
    a = p.parse_args()

    builder = SparkSession.builder.appName(f"bench-spark-{a.mode}")
    for kv in a.conf:
        key, sep, value = kv.partition("=")
        if not sep:
            raise SystemExit(f"--conf {kv!r}: must be key=value")
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    try:
        listener = Listener()
        spark.streams.addListener(listener)
        options = {"kafka.bootstrap.servers": a.bootstrap, "subscribe": a.topic, "startingOffsets": "earliest",
                   "failOnDataLoss": "true"}
        if a.max_offsets_per_trigger:
            options["maxOffsetsPerTrigger"] = str(a.max_offsets_per_trigger)
        source = spark.readStream.format("kafka").options(**options).load()
        writer = (transform(source, a.mode).writeStream.format("parquet").option("path", a.output)
                  .option("checkpointLocation", a.checkpoint).trigger(availableNow=True).queryName(f"bench-{a.mode}"))
        if a.mode == "partition":
            writer = writer.partitionBy(*PARTITION_COLUMNS)
        query = writer.start()
        query.awaitTermination()
        # The listener's end line is delivered asynchronously; give it a moment before the session goes.
        listener.terminated.wait(30)
        if query.exception() is not None:
            raise SystemExit(f"query failed: {query.exception()}")
    finally:
        spark.stop()


if __name__ == "__main__":
    main()
