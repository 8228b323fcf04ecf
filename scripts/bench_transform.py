"""Benchmark of the consumer's transform alone (npm run bench:transform). Not a test.

Builds N Kafka-shaped rows in memory (valid events of ~300 bytes like bench_consumer.py, and a share of
invalid ones of several kinds), caches them, then times what the job does per batch: its own batch writer
(io.BatchWriter) with both sinks' writes going to Spark's `noop` sink instead of files. No Kafka, no files:
records/s of the transform on local[2].

    python scripts/bench_transform.py [--job-dir DIR] [--records N] [--invalid-share F] [--runs R]

Prints records/s of wall-clock time and records per CPU-second (CPU time of the JVM and its Python workers, read
from /proc): on a shared machine the second moves far less with other people's load, so compare that one.

--baseline times, on the same rows, the plain query issue 15 compares with: from_json with the event schema and
year/month/day/hour of event_time, written to the noop sink (no validation, no dead letter).

--job-dir points at a jobs/streaming-consumer folder, so an older build (e.g. `git archive <commit>
jobs/streaming-consumer | tar -x -C /tmp/old`) can be measured on the same machine in the same way.
"""
from __future__ import annotations

import argparse
import inspect
import os
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# The process-tree CPU time is shared with bench_consumer.py (scripts/bench/proc.py).
sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench.proc import cpu_seconds  # noqa: E402
# The job's jars (STREAMING_JARS_DIR, with its own JVM functions), as every Spark row of bench_consumer.py has them.
from bench_consumer import jars  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--job-dir", default=str(REPO / "jobs" / "streaming-consumer"))
    p.add_argument("--records", type=int, default=300_000)
    p.add_argument("--invalid-share", type=float, default=0.01)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--baseline", action="store_true", help="time plain from_json + hour partitioning instead")
    args = p.parse_args()
    sys.path.insert(0, args.job_dir)
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")

    from pyspark import StorageLevel
    from pyspark.sql import SparkSession
    from pyspark.sql import functions as F

    from streaming_consumer import transforms as T
    from streaming_consumer.schemas import EVENT_SCHEMA

    spark = (
        SparkSession.builder.master("local[2]").appName("bench-transform")
        .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.jars", ",".join(jars()))
        .config("spark.driver.memory", "3g").getOrCreate()
    )
    spark.sparkContext.setLogLevel("WARN")
    every = max(1, round(1 / args.invalid_share)) if args.invalid_share > 0 else 0
    valid = F.to_json(F.struct(
        F.concat(F.lit("evt-"), F.lpad(F.col("id").cast("string"), 12, "0")).alias("event_id"),
        F.date_format(F.timestamp_seconds(F.lit(1714521600) + F.col("id") % 86400), "yyyy-MM-dd'T'HH:mm:ss'Z'").alias("event_time"),
        F.when(F.col("id") % 3 == 0, "purchase").otherwise("view").alias("type"),
        F.concat(F.lit("user-"), (F.col("id") % 10007).cast("string")).alias("user_id"),
        (F.col("id") % 1000 / 10).alias("amount"),
        F.create_map(F.lit("campaign"), F.lit("spring-sale"), F.lit("pad"), F.lit("x" * 134)).alias("attributes"),
    ))
    kinds = [
        F.lit("not json"),
        F.regexp_replace(valid, '"amount":', '"amount":"'),  # a broken string
        F.regexp_replace(valid, '"type":"[a-z]+"', '"type":42'),
        F.concat(valid, F.lit(" trailing")),
        F.regexp_replace(valid, "\"", "'"),
    ]
    bad = F.element_at(F.array(*kinds), ((F.col("id") / every) % len(kinds)).cast("int") + 1) if every else None
    value = F.when(F.col("id") % every == 0, bad).otherwise(valid) if every else valid
    src = spark.range(args.records, numPartitions=2).select(
        value.cast("binary").alias("value"), F.lit("bench").alias("topic"), (F.col("id") % 2).cast("int").alias("partition"),
        F.col("id").alias("offset"), F.current_timestamp().alias("timestamp"),
    ).persist(StorageLevel.MEMORY_ONLY)
    src.count()

    takes_cache = "cache" in inspect.signature(T.classify).parameters

    def plain_batch() -> tuple[int, int]:
        parsed = src.select(F.from_json(F.col("value").cast("string"), EVENT_SCHEMA).alias("r"), "offset").select("r.*", "offset")
        ts = F.col("event_time")
        parsed.select("*", F.year(ts).alias("year"), F.month(ts).alias("month"), F.dayofmonth(ts).alias("day"),
                      F.hour(ts).alias("hour")).write.format("noop").mode("overwrite").save()
        return args.records, 0

    from streaming_consumer import io as IO

    class NoopSink:
        """The job's file sink without files: every write goes to Spark's noop sink, every commit succeeds."""

        def committed(self, batch_id: int) -> bool:
            return False

        def stage(self, df, observed=None):
            # Runs df's own plan, as FileStreamSink.addBatch does: a write through df.write would plan it again, and
            # the observed metrics that _observed reads would stay those of a plan that never ran.
            df._jdf.queryExecution().toRdd().count()
            return [], (IO._observed(df, observed) if observed else {})

        def add_batch(self, batch_id: int, df, observed=None):
            return self.stage(df, observed)[1]

        def commit(self, batch_id: int, files) -> bool:
            return True

        def commit_empty(self, batch_id: int) -> bool:
            return True

    def one_batch() -> tuple[int, int]:
        if args.baseline:
            return plain_batch()
        if hasattr(T, "fast_rows"):  # the job's writer itself
            writer = IO.BatchWriter(NoopSink(), NoopSink(), EVENT_SCHEMA)
            writer(src, 0)
            counts = writer.pop_counts(0)
            return counts["valid_rows"], counts["dead_letter_rows"]
        # An older job (--job-dir), whose writer needs real file sinks: its steps, as its writer ran them.
        held = []
        if takes_cache:
            def cache(d):
                d = d.persist(StorageLevel.MEMORY_AND_DISK)
                held.append(d)
                return d
            classified = T.classify(src, EVENT_SCHEMA, cache=cache)
        else:
            classified = T.classify(src, EVENT_SCHEMA).persist(StorageLevel.MEMORY_AND_DISK)
            held.append(classified)
        if hasattr(T, "with_counts"):
            # As the job's BatchWriter does: counts observed during the output's write, no dead-letter job
            # for a batch without bad records.
            valid = T.valid_rows(T.with_counts(classified), EVENT_SCHEMA)
            valid.write.format("noop").mode("overwrite").save()
            row = valid._jdf.queryExecution().observedMetrics().get(T.COUNTS).get()
            counts = {True: row.getLong(0), False: row.getLong(1)}
            if counts[False]:
                T.dead_letter_rows(classified).write.format("noop").mode("overwrite").save()
        else:  # an older job (--job-dir): its three actions
            T.valid_rows(classified, EVENT_SCHEMA).write.format("noop").mode("overwrite").save()
            T.dead_letter_rows(classified).write.format("noop").mode("overwrite").save()
            counts = {r["ok"]: r["n"] for r in classified.groupBy(F.col("error").isNull().alias("ok")).agg(F.count(F.lit(1)).alias("n")).collect()}
        for d in held:
            d.unpersist()
        return counts.get(True, 0), counts.get(False, 0)

    jvm_pid = spark.sparkContext._gateway.proc.pid
    one_batch()  # warm-up: JIT, Python workers
    times, cpus = [], []
    for _ in range(args.runs):
        start, cpu = time.monotonic(), cpu_seconds(jvm_pid)
        n_valid, n_dead = one_batch()
        times.append(time.monotonic() - start)
        cpus.append(cpu_seconds(jvm_pid) - cpu)
    print(f"job dir: {args.job_dir}" + (" (baseline: plain from_json + hour partitioning)" if args.baseline else ""))
    print(f"records: {args.records} ({n_valid} valid, {n_dead} dead letter); runs: "
          + ", ".join(f"{t:.2f}s wall/{c:.2f}s CPU" for t, c in zip(times, cpus)))
    print(f"transform: {args.records / statistics.median(times):,.0f} records/s wall-clock (median, local[2]); "
          f"{args.records / statistics.median(cpus):,.0f} records per CPU-second (median)")
    spark.stop()


if __name__ == "__main__":
    main()
