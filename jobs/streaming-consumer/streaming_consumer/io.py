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

One batch may be written by two Spark jobs (the fast path's rows, then the rows Python classified; see
BatchWriter): each job's files are staged (written, not logged), and the output's log gets one entry
listing both, so a batch is still all or nothing for readers.

Stray files
-----------
A batch killed mid-write leaves Parquet files that no sink log lists. Readers through Spark ignore them;
Athena, Glue, pyarrow or any S3 listing do not. So in the first batch of every run, once both sinks have
written (no write of this query is in flight then), `remove_stray_files` deletes from both locations the
files this sink wrote that its log does not list: Spark part-file names only, never `_spark_metadata` or
other hidden files, never a file older than the checkpoint (this query's birth), and, with a log retention,
only files newer than what the log may have let expire, and only Parquet files whose footer says Spark wrote them
with exactly that sink's columns.

Stopping
--------
`StopControl` is set by the first SIGTERM/SIGINT. A batch that is running finishes and commits; a batch that
would start after it is refused before it writes anything (`StopBeforeBatch`: Spark has planned it in the
offset log, so the next run runs it with the same offsets). main.py stops the query between batches.
"""
from __future__ import annotations

import json
import re
import shutil
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, NamedTuple

from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.streaming import StreamingQuery, StreamingQueryListener

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

        def file_stream_sink():
            return jvm.org.apache.spark.sql.execution.streaming.FileStreamSink(
                spark._jsparkSession,
                path,
                jvm.org.apache.spark.sql.execution.datasources.parquet.ParquetFileFormat(),
                jvm.org.apache.spark.api.python.PythonUtils.toSeq(list(partition_columns)),
                jvm.org.apache.spark.api.python.PythonUtils.toScalaMap(options),
            )

        self._sink = file_stream_sink()
        self._jvm = jvm
        self._spark = spark
        self._log = _private_field(jvm, self._sink, "fileLog")
        # Writes files into the same location without committing them (see `stage`): a second sink whose log is
        # swapped for a throwaway one before each write.
        self._stager = file_stream_sink()
        # The throwaway logs live on the driver's disk: a session of their own, whose metadata logs use Hadoop's
        # plain file system (the job's may require the abortable streams only object stores have).
        self._staging_session = spark._jsparkSession.newSession()
        self._staging_session.conf().set(
            "spark.sql.streaming.checkpointFileManagerClass",
            "org.apache.spark.sql.execution.streaming.FileSystemBasedCheckpointFileManager")
        # The log's latest batch id, read from the log once per run: only this query writes the log (the checkpoint
        # pairing check sees to that), so afterwards this object knows it without listing the log every batch.
        self._latest: int | None = None

    def committed(self, batch_id: int) -> bool:
        """True when the log already has batch `batch_id` (a batch re-run after a restart)."""
        if self._latest is None:
            latest = self._log.getLatestBatchId()
            self._latest = latest.get() if latest.isDefined() else -1
        return batch_id <= self._latest

    def add_batch(self, batch_id: int, df: DataFrame, observed: str | None = None) -> dict[str, int] | None:
        """Write df as batch `batch_id`; None (and nothing written) when the log already has that batch. Else the
        metrics `observed` (a Dataset.observe name in df's plan) as this very write collected them ({} if none)."""
        if self.committed(batch_id):
            return None
        self._sink.addBatch(batch_id, df._jdf)
        self._latest = batch_id
        return _observed(df, observed) if observed else {}

    def commit_empty(self, batch_id: int) -> bool:
        """Commit batch `batch_id` with no files, without a Spark job: the log entry a write of no rows makes
        (FileStreamSink's commit protocol adds the same empty entry). False when the log already has it."""
        return self.commit(batch_id, [])

    def stage(self, df: DataFrame, observed: str | None = None) -> tuple[list, dict[str, Any]]:
        """Write df's files into the location without committing them, for `commit` to commit with others as one batch.

        Returns the files written (the sink log's entries for them) and the metrics `observed` as this write collected
        them. The write is the file sink's own, with its commit protocol recording the files into a throwaway log on
        the driver's disk instead of this sink's. Until `commit`, readers through Spark do not see the files; a run that
        dies first leaves them as stray files, which the next run removes. Not thread-safe (one batch at a time, as
        foreachBatch runs them).
        """
        jvm = self._jvm
        folder = tempfile.mkdtemp(prefix="sink-staging-")
        try:
            streaming = jvm.org.apache.spark.sql.execution.streaming
            log = streaming.FileStreamSinkLog(
                streaming.FileStreamSinkLog.VERSION(), self._staging_session, f"file://{folder}/_spark_metadata",
                _scala_none(jvm))
            _set_private_field(self._stager, "fileLog", log)
            self._stager.addBatch(0, df._jdf)
            written = log.get(0)
            if not written.isDefined():
                raise RuntimeError(f"{self.path}: the staged write recorded no log entry")
            files = list(written.get())
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return files, (_observed(df, observed) if observed else {})

    def commit(self, batch_id: int, files: list) -> bool:
        """Commit batch `batch_id` as exactly `files` (from `stage`), without a Spark job. False when the log already
        has the batch (and nothing is committed)."""
        if self.committed(batch_id):
            return False
        jvm = self._jvm
        entries = jvm.java.lang.reflect.Array.newInstance(
            jvm.java.lang.Class.forName("org.apache.spark.sql.execution.streaming.SinkFileStatus"), len(files))
        for i, f in enumerate(files):
            entries[i] = f
        if not self._log.add(batch_id, entries):
            raise RuntimeError(f"{self.path}: batch {batch_id} appeared in the sink log while committing it")
        self._latest = batch_id
        return True


def _private_field(jvm, obj, name: str):
    """A private field of a JVM object. FileStreamSink keeps its log private; the job needs it to commit a batch
    without a Spark job and to know whether a batch is already committed (Spark 3.5; tested)."""
    field = obj.getClass().getDeclaredField(name)
    field.setAccessible(True)
    return field.get(obj)


def _set_private_field(obj, name: str, value) -> None:
    """Set a private (final) field of a JVM object: the staging sink's log (Spark 3.5; tested). Java allows it for
    instance fields once accessible."""
    field = obj.getClass().getDeclaredField(name)
    field.setAccessible(True)
    field.set(obj, value)


class StopControl:
    """A stop request, shared by the signal handler (main.py) and the batch writer."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def request(self) -> None:
        self._event.set()

    @property
    def requested(self) -> bool:
        return self._event.is_set()


class StopBeforeBatch(RuntimeError):
    """Raised instead of running a batch once a stop was requested: nothing of the batch is written, and the
    offset log keeps it for the next run."""

    MARKER = "streaming-consumer: stop requested before this batch started"

    def __init__(self, batch_id: int):
        super().__init__(f"{self.MARKER} (batch {batch_id}); it runs again at the next start")


class BatchWriter:
    """The foreachBatch function: classify once, write both sinks with the same batch id, then (first batch of a
    run) remove stray files.

    A batch is read in one pass when it can be: the fast path's rows are written straight to the output's location
    (staged, not yet committed), while the same pass counts the rows the fast path did not accept and names them by
    their Kafka keys, and carries the rows themselves to the driver when they are few (transforms.CARRY_CHARS). In
    the usual batch there are none: the output commits the staged files and the dead letter commits empty, with no
    cache, no second job and no Python. Otherwise a second pass takes only those rows (as carried, or read again from
    the source by key when there were too many to carry), classifies them exactly (Python), stages the valid ones
    beside the first pass's files and writes the invalid ones to the dead letter; the output then commits both
    passes' files as one batch. A batch the output
    already has (a re-run after a restart) is classified whole and only the dead letter is written.
    """

    def __init__(
        self,
        output: FileSink,
        dead_letter: FileSink,
        schema,
        stop: StopControl | None = None,
        cleaner: Callable[[], None] | None = None,
    ):
        from . import transforms

        self._transforms = transforms
        transforms.build(schema)
        self.output = output
        self.dead_letter = dead_letter
        self.schema = schema
        self.stop = stop
        self.cleaner = cleaner
        self._counts: dict[int, dict[str, int]] = {}
        self._lock = threading.Lock()

    def __call__(self, batch: DataFrame, batch_id: int) -> None:
        if self.stop is not None and self.stop.requested:
            raise StopBeforeBatch(batch_id)
        held: list[DataFrame] = []

        def cache(df: DataFrame) -> DataFrame:
            # Cached so the writes and the count of the rows classified whole share one Kafka fetch, one parse and one
            # Python call per slow-path record.
            df = df.persist(StorageLevel.MEMORY_AND_DISK)
            held.append(df)
            return df

        try:
            if self.output.committed(batch_id):
                counts = self._rerun(batch, batch_id, cache)
            else:
                counts = self._write(batch, batch_id, cache)
            with self._lock:
                self._counts[batch_id] = counts
        finally:
            for df in held:
                df.unpersist()
        if self.cleaner is not None:
            cleaner, self.cleaner = self.cleaner, None
            cleaner()

    def _write(self, batch: DataFrame, batch_id: int, cache: Callable[[DataFrame], DataFrame]) -> dict[str, int]:
        t = self._transforms
        files, seen = self.output.stage(t.valid_rows(t.fast_rows(batch, self.schema), self.schema), observed=t.SLOW)
        keys = json.loads(seen["slow_keys"])
        if len(keys) != seen["slow_rows"]:
            raise RuntimeError(f"batch {batch_id}: {seen['slow_rows']} rows left the fast path but {len(keys)} were named")
        if seen["fast_rows"] + seen["slow_rows"] == 0:
            # No rows, or an observation that did not run (it reports the same zeros): classify the batch whole.
            self._discard(files)
            classified = t.with_counts(t.classify(batch, self.schema, cache=cache))
            counts = self.output.add_batch(batch_id, t.valid_rows(classified, self.schema), observed=t.COUNTS)
            self.dead_letter.add_batch(batch_id, t.dead_letter_rows(classified))
            return counts
        if not keys:
            self.output.commit(batch_id, files)
            self.dead_letter.commit_empty(batch_id)
            return {"valid_rows": seen["fast_rows"], "dead_letter_rows": 0}
        # The left-out rows as the first pass carried them when they were few enough, else read again from the source.
        carried = t.carried_rows(batch.sparkSession, seen["slow_carried"], keys)
        again = carried if carried is not None else t.rows_at(batch, keys)
        classified = t.with_counts(t.classify(again, self.schema, cache=cache, count_first=False))
        more, slow = self.output.stage(t.valid_rows(classified, self.schema), observed=t.COUNTS)
        if slow["valid_rows"] + slow["dead_letter_rows"] != len(keys):
            # The second pass must find every row the first one left out, or some would be lost: fail the batch (it
            # runs again at the next start; the staged files are strays until then).
            raise RuntimeError(
                f"batch {batch_id}: {len(keys)} rows left the fast path, but the second pass "
                f"({'read again' if carried is None else 'carried'}) found {slow['valid_rows'] + slow['dead_letter_rows']}")
        self.output.commit(batch_id, files + more)
        self.dead_letter.add_batch(batch_id, t.dead_letter_rows(classified))
        return {"valid_rows": seen["fast_rows"] + slow["valid_rows"], "dead_letter_rows": slow["dead_letter_rows"]}

    def _rerun(self, batch: DataFrame, batch_id: int, cache: Callable[[DataFrame], DataFrame]) -> dict[str, int]:
        """A batch the output already has (a restart): count it with a job of its own, write only the dead letter."""
        t = self._transforms
        classified = t.classify(batch, self.schema, cache=cache)
        counts = {r["ok"]: r["n"] for r in classified.groupBy(F.col("error").isNull().alias("ok")).agg(F.count(F.lit(1)).alias("n")).collect()}
        counts = {"valid_rows": counts.get(True, 0), "dead_letter_rows": counts.get(False, 0)}
        if counts["dead_letter_rows"] == 0:
            self.dead_letter.commit_empty(batch_id)
        else:
            self.dead_letter.add_batch(batch_id, t.dead_letter_rows(classified))
        return counts

    def _discard(self, files: list) -> None:
        """Delete staged files that will not be committed (readers through Spark never saw them)."""
        jvm = self.output._jvm
        for f in files:
            path = jvm.org.apache.hadoop.fs.Path(f.path())
            path.getFileSystem(self.output._spark._jsc.hadoopConfiguration()).delete(path, False)

    def pop_counts(self, batch_id: int) -> dict[str, int]:
        with self._lock:
            return self._counts.pop(batch_id, {})


def _observed(df: DataFrame, name: str) -> dict[str, int]:
    """The metrics `name` that Dataset.observe collected while `df` was written (read from the plan that ran)."""
    row = df._jdf.queryExecution().observedMetrics().get(name)
    if row.isEmpty():
        raise RuntimeError(f"no observed metrics {name!r}: the write did not run the observed plan")
    row = row.get()
    names = list(row.schema().fieldNames())
    return {n: row.get(i) for i, n in enumerate(names)}


# --- stray files ------------------------------------------------------------------------------------------

# The names Spark's file sink gives data files: part-<task>-<uuid>-c<n>.<codec>.parquet.
PART_FILE = re.compile(
    r"^part-\d{5}-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}(?:-c\d{3})?(?:\.[A-Za-z0-9]+)*\.parquet$"
)
# Clocks of S3 and of the driver differ a little; never delete a file this close to a boundary.
_CLOCK_SLACK_MS = 60 * 60 * 1000
# Spark writes the rows' schema into every Parquet file's footer under this key.
_SPARK_ROW_METADATA = "org.apache.spark.sql.parquet.row.metadata"


class SinkLocation(NamedTuple):
    """A location a sink of this query writes, and the data columns of its files (partition columns excluded)."""
    uri: str
    columns: tuple[str, ...]


def _written_with_columns(spark: SparkSession, path, columns: tuple[str, ...]) -> bool:
    """True when the Parquet file at `path` was written by Spark with exactly these data columns, in this order.
    An unreadable file (not Parquet, truncated) is not one of this sink's: it is left alone."""
    jvm = spark._jvm
    try:
        footer = jvm.org.apache.parquet.hadoop.ParquetFileReader.readFooter(spark._jsc.hadoopConfiguration(), path)
        row_schema = footer.getFileMetaData().getKeyValueMetaData().get(_SPARK_ROW_METADATA)
    except Exception:  # noqa: BLE001 - py4j raises its own types for any JVM error
        return False
    if row_schema is None:
        return False
    try:
        names = tuple(f["name"] for f in json.loads(row_schema)["fields"])
    except (ValueError, KeyError, TypeError):
        return False
    return names == tuple(columns)


def _scala_object(package, name: str):
    """A Scala `object` (its MODULE$ instance), which py4j cannot name with attribute syntax."""
    return getattr(getattr(package, f"{name}$"), "MODULE$")


def _scala_none(jvm):
    return _scala_object(jvm.scala, "None")


def _joined(jvm, java_strings) -> list[str]:
    """A Java String[] as a Python list, in one round trip (a large listing would take minutes element-wise).
    Hadoop's join takes String[] itself: py4j does not pass a String[] where Java expects Object[] or varargs."""
    text = jvm.org.apache.hadoop.util.StringUtils.join("\0", java_strings)
    return [p for p in text.split("\0") if p]


def stray_files(spark: SparkSession, location: SinkLocation, checkpoint: str, retention: str | None = None) -> list[str]:
    """Data files under `location` that this query's file sink wrote and its log does not list.

    What marks a file as this sink's, all of it required: it lies under the location, which has this sink's log;
    the log does not list it; it has the name Spark's file sink gives a data file; it is newer than the query's
    checkpoint (and, with a log retention, than what the log may have let expire); and its footer says Spark wrote
    it with exactly this sink's data columns. Anything else (other writers' files, other names, hidden files,
    other prefixes) is never touched.
    """
    jvm = spark._jvm
    location, columns = location.uri, location.columns
    fs, root = _fs_and_path(spark, location)
    log = jvm.org.apache.hadoop.fs.Path(root, "_spark_metadata")
    if not fs.exists(log):
        return []  # nothing committed here yet: never touch a location that is not (yet) this sink's
    seq = jvm.org.apache.spark.api.python.PythonUtils.toSeq
    no_options = jvm.org.apache.spark.api.python.PythonUtils.toScalaMap({})
    listed = set(_joined(jvm, jvm.org.apache.spark.sql.execution.streaming.MetadataLogFileIndex(
        spark._jsparkSession, root, no_options, _scala_none(jvm)).inputFiles()))
    # Lists every file under the location except hidden ones (`_spark_metadata`, `.…`), as readers do.
    on_storage = _joined(jvm, jvm.org.apache.spark.sql.execution.datasources.InMemoryFileIndex(
        spark._jsparkSession, seq([root]), no_options, _scala_none(jvm),
        _scala_object(jvm.org.apache.spark.sql.execution.datasources, "NoopCache"), _scala_none(jvm), _scala_none(jvm),
    ).inputFiles())
    candidates = [p for p in on_storage if p not in listed and PART_FILE.match(p.rsplit("/", 1)[-1])]
    if not candidates:
        return []
    ckpt_fs, ckpt = _fs_and_path(spark, f"{checkpoint.rstrip('/')}/metadata")
    oldest = ckpt_fs.getFileStatus(ckpt).getModificationTime() - _CLOCK_SLACK_MS if ckpt_fs.exists(ckpt) else None
    if retention:
        # Entries older than the retention leave the log at a compaction; their files are not strays.
        compacts = [st.getModificationTime() for st in fs.listStatus(log) if st.getPath().getName().endswith(".compact")]
        if compacts:
            expired_before = max(compacts) - jvm.org.apache.spark.network.util.JavaUtils.timeStringAsMs(retention) + _CLOCK_SLACK_MS
            oldest = expired_before if oldest is None else max(oldest, expired_before)
    if oldest is None:
        return []  # no checkpoint to date this query by: leave everything alone
    out = []
    for p in candidates:
        path = jvm.org.apache.hadoop.fs.Path(p)
        if fs.getFileStatus(path).getModificationTime() >= oldest and _written_with_columns(spark, path, columns):
            out.append(p)
    return out


def remove_stray_files(
    spark: SparkSession, locations: dict[str, SinkLocation], checkpoint: str, retention: str | None = None
) -> dict[str, int]:
    """Delete `stray_files` of each location; report (never raise): a failure here must not fail the batch."""
    removed = {}
    for role, location in locations.items():
        try:
            strays = stray_files(spark, location, checkpoint, retention)
            fs, _ = _fs_and_path(spark, location.uri)
            for p in strays:
                fs.delete(spark._jvm.org.apache.hadoop.fs.Path(p), False)
            removed[role] = len(strays)
            emit("stray_files_removed", location=location.uri, count=len(strays), files=strays[:20])
        except Exception as e:  # noqa: BLE001 - cleaning is best effort; the next start tries again
            emit("stray_files_check_failed", location=location.uri, error=str(e)[:1000])
    return removed


def input_rows(progress_rows: int, counts: dict[str, int]) -> tuple[int, float]:
    """The rows a batch read, and the factor that turns Spark's per-second rates into the batch's own.

    Every row lands in exactly one sink, so valid plus dead-letter rows are the batch's input. Spark counts each read
    of the source instead, and a batch with records the fast path left out reads the source a second time
    (BatchWriter). Without counts (a batch that wrote nothing) Spark's figures stand."""
    if "valid_rows" not in counts or "dead_letter_rows" not in counts:
        return progress_rows, 1.0
    rows = counts["valid_rows"] + counts["dead_letter_rows"]
    return rows, (rows / progress_rows if progress_rows else 1.0)


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
        counts = self.writer.pop_counts(p.batchId) if self.writer is not None else {}
        rows, scale = input_rows(p.numInputRows, counts)
        fields = {
            "batch_id": p.batchId,
            "rows_in": rows,
            "rows_per_second": round((p.processedRowsPerSecond or 0.0) * scale, 1),
            "input_rows_per_second": round((p.inputRowsPerSecond or 0.0) * scale, 1),
            "batch_duration_ms": (p.durationMs or {}).get("triggerExecution"),
            "offsets_behind_latest": max(behind) if behind else None,
            "durations_ms": p.durationMs,
            "end_offsets": [s.endOffset for s in p.sources],
        }
        emit("batch_progress", **fields, **counts)

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
