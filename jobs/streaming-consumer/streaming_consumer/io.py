"""Sources, sinks and the JVM-side plumbing: Kafka options, topic creation, the two file sinks, progress.

Exactly once across two sinks
-----------------------------
One query reads Kafka once per batch and, in `foreachBatch`, hands the valid rows and the dead-letter
rows to two instances of Spark's own file sink (`FileStreamSink`), one per location. Each keeps its
`_spark_metadata` log keyed by the query's batch id and skips a batch id it has already committed.
After a crash at any point Spark re-runs the last planned batch with the *same* offsets (offset log in
the checkpoint); the sink that had committed it skips it, the other writes it, so every offset lands
exactly once across the two locations for any reader that reads through Spark.

Why not the alternatives: two queries (one per sink, each with its own checkpoint) read and parse
Kafka twice, and with `startingOffsets=latest` each resolves "latest" at its own moment, so records
between the two can reach one sink's range and not the other's (an invalid record silently lost).
Plain `df.write` inside foreachBatch is not idempotent per batch and leaves no log for readers.
The price: FileStreamSink is Spark-internal API (stable through 3.5; the tests exercise it).
"""
from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable

from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.streaming import StreamingQuery, StreamingQueryListener

# Test-only fault injection: "kill-after-output:<batch id>" SIGKILLs the job's process group after the
# output sink committed that batch and before the dead-letter sink ran, the one crash point a random
# kill rarely hits. Unset in every deployment.
_FAULT = os.environ.get("STREAMING_CONSUMER_FAULT", "")

MSK_IAM_OPTIONS = {
    "security.protocol": "SASL_SSL",
    "sasl.mechanism": "AWS_MSK_IAM",
    "sasl.jaas.config": "software.amazon.msk.auth.iam.IAMLoginModule required;",
    "sasl.client.callback.handler.class": "software.amazon.msk.auth.iam.IAMClientCallbackHandler",
}
ABORTABLE_CHECKPOINT_MANAGER = "org.apache.spark.internal.io.cloud.AbortableStreamBasedCheckpointFileManager"


def emit(event: str, **fields: Any) -> None:
    """One JSON object per line on stdout: what operators' log queries and alarms read."""
    record = {"ts": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "event": event, **fields}
    sys.stdout.write(json.dumps(record, default=str, separators=(",", ":")) + "\n")
    sys.stdout.flush()


def kafka_client_properties(bootstrap_servers: str, auth: str) -> dict[str, str]:
    """Kafka client settings shared by the query's consumers and the topic admin client."""
    props = {"bootstrap.servers": bootstrap_servers}
    if auth == "iam":
        props.update(MSK_IAM_OPTIONS)
    elif auth != "none":
        raise ValueError(f"unknown kafka auth {auth!r}")
    return props


def kafka_source_options(
    bootstrap_servers: str,
    topic: str,
    auth: str,
    starting_offsets: str,
    max_offsets_per_trigger: int | None,
) -> dict[str, str]:
    opts = {f"kafka.{k}": v for k, v in kafka_client_properties(bootstrap_servers, auth).items()}
    opts.update(
        {
            "subscribe": topic,
            "startingOffsets": starting_offsets,
            # Never skip data that retention or a topic reset removed: fail and make a person look.
            "failOnDataLoss": "true",
        }
    )
    if max_offsets_per_trigger is not None:
        opts["maxOffsetsPerTrigger"] = str(max_offsets_per_trigger)
    return opts


def read_kafka(spark: SparkSession, options: dict[str, str]) -> DataFrame:
    return spark.readStream.format("kafka").options(**options).load()


# --- topics ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int | None = None
    replication_factor: int | None = None
    retention_ms: int | None = None

    @staticmethod
    def parse_list(text: str) -> list["TopicSpec"]:
        """Parse the KAFKA_TOPICS / --ensure-topics JSON list; ValueError names what is wrong."""
        try:
            items = json.loads(text)
        except json.JSONDecodeError as e:
            raise ValueError(f"not valid JSON: {e}") from e
        if not isinstance(items, list):
            raise ValueError('must be a JSON list like [{"name": "events", "partitions": 3, "replicationFactor": 3}]')
        specs = []
        for i, item in enumerate(items):
            if not isinstance(item, dict):
                raise ValueError(f"item {i} must be an object, got {type(item).__name__}")
            unknown = set(item) - {"name", "partitions", "replicationFactor", "retentionMs"}
            if unknown:
                raise ValueError(f"item {i} has unknown keys {sorted(unknown)}")
            name = item.get("name")
            if not isinstance(name, str) or not name:
                raise ValueError(f"item {i} needs a non-empty string 'name'")
            for key in ("partitions", "replicationFactor", "retentionMs"):
                v = item.get(key)
                if v is not None and (isinstance(v, bool) or not isinstance(v, int) or (v < 1 and key != "retentionMs")):
                    raise ValueError(f"topic {name!r}: '{key}' must be a positive integer, got {v!r}")
            if item.get("replicationFactor") is not None and item.get("partitions") is None:
                raise ValueError(f"topic {name!r}: 'replicationFactor' needs 'partitions' too")
            specs.append(TopicSpec(name, item.get("partitions"), item.get("replicationFactor"), item.get("retentionMs")))
        return specs


def ensure_topics(spark: SparkSession, client_props: dict[str, str], topics: list[TopicSpec], timeout_s: int = 60) -> dict[str, str]:
    """Create the topics that do not exist; leave existing ones exactly as they are.

    Runs the JVM Kafka AdminClient that is on Spark's classpath (kafka-clients, aws-msk-iam-auth) with
    the query's own client settings, so IAM auth here is the same code path as the query's.
    Returns {topic: "created" | "exists"}.
    """
    jvm = spark._jvm
    props = jvm.java.util.Properties()
    for k, v in client_props.items():
        props.setProperty(k, v)
    props.setProperty("request.timeout.ms", str(timeout_s * 1000))
    props.setProperty("default.api.timeout.ms", str(timeout_s * 1000))
    admin = jvm.org.apache.kafka.clients.admin.AdminClient.create(props)
    unit = jvm.java.util.concurrent.TimeUnit.SECONDS
    result: dict[str, str] = {}
    try:
        existing = set(admin.listTopics().names().get(timeout_s, unit))
        for spec in topics:
            if spec.name in existing:
                result[spec.name] = "exists"
                continue
            if spec.partitions is not None and spec.replication_factor is not None:
                new = jvm.org.apache.kafka.clients.admin.NewTopic(spec.name, spec.partitions, spec.replication_factor)
            else:
                empty = jvm.java.util.Optional.empty()
                parts = jvm.java.util.Optional.of(spec.partitions) if spec.partitions is not None else empty
                new = jvm.org.apache.kafka.clients.admin.NewTopic(spec.name, parts, empty)
            if spec.retention_ms is not None:
                configs = jvm.java.util.HashMap()
                configs.put("retention.ms", str(spec.retention_ms))
                new = new.configs(configs)
            lst = jvm.java.util.ArrayList()
            lst.add(new)
            try:
                admin.createTopics(lst).all().get(timeout_s, unit)
                result[spec.name] = "created"
            except Exception as e:  # py4j wraps the ExecutionException; another instance may have won the race
                if "TopicExistsException" in str(e):
                    result[spec.name] = "exists"
                else:
                    raise
            emit("topic_ensured", topic=spec.name, outcome=result[spec.name])
    finally:
        admin.close()
    return result


# --- sinks and the checkpoint/output pairing ------------------------------------------------------

def _fs_and_path(spark: SparkSession, uri: str):
    jvm = spark._jvm
    path = jvm.org.apache.hadoop.fs.Path(uri)
    return path.getFileSystem(spark._jsc.hadoopConfiguration()), path


def _numbered_entries(spark: SparkSession, uri: str) -> list[int]:
    """Batch ids in a metadata folder (offsets/, commits/, _spark_metadata/); [] when absent."""
    fs, path = _fs_and_path(spark, uri)
    if not fs.exists(path):
        return []
    ids = []
    for status in fs.listStatus(path):
        name = status.getPath().getName().split(".")[0]
        if name.isdigit():
            ids.append(int(name))
    return ids


class CheckpointMismatchError(RuntimeError):
    """The checkpoint and a sink's log do not belong together; starting would lose or skip data."""


def check_checkpoint_pairing(spark: SparkSession, checkpoint: str, sinks: dict[str, str]) -> None:
    """Refuse a new checkpoint against a location that already has a file-sink log.

    The sinks skip batch ids their log already holds, and a new checkpoint numbers batches from 0
    again, so that pairing would silently drop every batch up to the log's last id.
    """
    if _numbered_entries(spark, f"{checkpoint.rstrip('/')}/offsets"):
        return
    for role, location in sinks.items():
        ids = _numbered_entries(spark, f"{location.rstrip('/')}/_spark_metadata")
        if ids:
            raise CheckpointMismatchError(
                f"the {role} location {location} already has a file-sink log (_spark_metadata, batches up to "
                f"{max(ids)}) but the checkpoint {checkpoint} is new. Starting would silently skip those batch "
                f"ids' new data. Use the checkpoint that wrote {location}, or write to a new {role} location."
            )


class FileSink:
    """Spark's file sink (Parquet, with its _spark_metadata log) driven from foreachBatch."""

    def __init__(self, spark: SparkSession, path: str, partition_columns: tuple[str, ...] = (), retention: str | None = None):
        jvm = spark._jvm
        options = {"path": path}
        if retention:
            options["retention"] = retention
        self.path = path
        self._sink = jvm.org.apache.spark.sql.execution.streaming.FileStreamSink(
            spark._jsparkSession,
            path,
            jvm.org.apache.spark.sql.execution.datasources.parquet.ParquetFileFormat(),
            jvm.org.apache.spark.api.python.PythonUtils.toSeq(list(partition_columns)),
            jvm.org.apache.spark.api.python.PythonUtils.toScalaMap(options),
        )

    def add_batch(self, batch_id: int, df: DataFrame) -> None:
        """Write df as batch `batch_id`, or do nothing if the log already has that batch."""
        self._sink.addBatch(batch_id, df._jdf)


class BatchWriter:
    """The foreachBatch function: both sinks, same batch id, the input read from Kafka once."""

    def __init__(self, output: FileSink, dead_letter: FileSink, split: Callable[[DataFrame], tuple[DataFrame, DataFrame]]):
        self.output = output
        self.dead_letter = dead_letter
        self.split = split
        self._counts: dict[int, dict[str, int]] = {}
        self._lock = threading.Lock()

    def __call__(self, batch: DataFrame, batch_id: int) -> None:
        # Cached so the two writes and the count share one Kafka fetch and one parse.
        batch = batch.persist(StorageLevel.MEMORY_AND_DISK)
        try:
            valid, invalid = self.split(batch)
            self.output.add_batch(batch_id, valid)
            if _FAULT == f"kill-after-output:{batch_id}":
                os.killpg(os.getpgid(0), signal.SIGKILL)
            self.dead_letter.add_batch(batch_id, invalid)
            counts = {r["ok"]: r["n"] for r in batch.groupBy(F.col("error").isNull().alias("ok")).agg(F.count(F.lit(1)).alias("n")).collect()}
            with self._lock:
                self._counts[batch_id] = {"valid_rows": counts.get(True, 0), "dead_letter_rows": counts.get(False, 0)}
        finally:
            batch.unpersist()

    def pop_counts(self, batch_id: int) -> dict[str, int]:
        with self._lock:
            return self._counts.pop(batch_id, {})


class ProgressLogger(StreamingQueryListener):
    """One JSON line per batch: rows in, rows/s, duration, offsets behind latest, valid/dead-letter rows."""

    def __init__(self, writer: BatchWriter | None = None):
        self.writer = writer

    def onQueryStarted(self, event) -> None:
        emit("query_started", query_id=str(event.id), run_id=str(event.runId), name=event.name)

    def onQueryProgress(self, event) -> None:
        p = event.progress
        behind = []
        for s in p.sources:
            m = s.metrics or {}
            if m.get("maxOffsetsBehindLatest") is not None:
                behind.append(int(m["maxOffsetsBehindLatest"]))
        fields = {
            "batch_id": p.batchId,
            "rows_in": p.numInputRows,
            "rows_per_second": round(p.processedRowsPerSecond or 0.0, 1),
            "input_rows_per_second": round(p.inputRowsPerSecond or 0.0, 1),
            "batch_duration_ms": (p.durationMs or {}).get("triggerExecution"),
            "offsets_behind_latest": max(behind) if behind else None,
            "durations_ms": p.durationMs,
            "end_offsets": [s.endOffset for s in p.sources],
        }
        if self.writer is not None:
            fields.update(self.writer.pop_counts(p.batchId))
        emit("batch_progress", **fields)

    def onQueryIdle(self, event) -> None:
        pass

    def onQueryTerminated(self, event) -> None:
        emit("query_terminated", query_id=str(event.id), exception=event.exception)


def start_query(
    source: DataFrame,
    writer: BatchWriter,
    checkpoint: str,
    trigger: dict[str, Any],
    query_name: str,
) -> StreamingQuery:
    return (
        source.writeStream.queryName(query_name)
        .option("checkpointLocation", checkpoint)
        .trigger(**trigger)
        .foreachBatch(writer)
        .start()
    )
