"""Per-batch cost of (d) and (e) in one warm JVM (issue 15): the same Kafka offset ranges, read as batch frames, written
by bench_spark.py's (d) plan and by the job's own BatchWriter, in turns, many rounds.

    python scripts/bench/warm_batches.py --bootstrap H:P --topic T --records N [--batch 100000] [--rounds 11]

The streaming benchmark (bench_consumer.py) times whole processes, where start-up and the JIT compiler's first minutes
weigh on every figure; this one shows what each batch costs once the code is compiled, and is where an ablation
(a changed transforms.py on PYTHONPATH) shows its effect in minutes. Prints, per row, the median wall and CPU seconds
(JVM and Python) of a batch over the rounds after the first. Not a test.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # scripts/, for bench_spark, bench_consumer and bench.*

import bench_spark  # noqa: E402
from bench import rows as RW  # noqa: E402
from bench.proc import cpu_seconds  # noqa: E402
from bench.stats import summarize  # noqa: E402
from bench_consumer import jars  # noqa: E402


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser()
    p.add_argument("--bootstrap", required=True)
    p.add_argument("--topic", required=True)
    p.add_argument("--records", type=int, required=True, help="records in the topic")
    p.add_argument("--partitions", type=int, default=4)
    p.add_argument("--batch", type=int, default=100_000, help="records per batch (spread evenly over the partitions)")
    p.add_argument("--rounds", type=int, default=11)
    a = p.parse_args(argv)
    if a.batch % a.partitions or a.batch > a.records or a.rounds < 2:
        p.error("--batch must be a multiple of --partitions and at most --records; --rounds at least 2")
    return a


def main() -> None:
    a = parse_args()
    from pyspark.sql import SparkSession

    from streaming_consumer import io
    from streaming_consumer.schemas import EVENT_SCHEMA, PARTITION_COLUMNS

    builder = SparkSession.builder.appName("bench-warm-batches")
    for k, v in RW.spark_conf(jars()).items():
        builder = builder.config(k, v)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")

    def cpu() -> float:  # this process and its tree: the JVM and Spark's Python workers
        return cpu_seconds(os.getpid())

    per_partition = a.batch // a.partitions
    ranges = a.records // a.partitions // per_partition

    def batch(i: int):
        def at(n: int) -> str:
            return json.dumps({a.topic: {str(p): n for p in range(a.partitions)}})
        return (spark.read.format("kafka").option("kafka.bootstrap.servers", a.bootstrap).option("subscribe", a.topic)
                .option("startingOffsets", at(i * per_partition)).option("endingOffsets", at((i + 1) * per_partition)).load())

    root = tempfile.mkdtemp(prefix="warm-batches-")
    plain = io.FileSink(spark, f"file://{root}/d", PARTITION_COLUMNS)
    writer = io.BatchWriter(io.FileSink(spark, f"file://{root}/e/out", PARTITION_COLUMNS), io.FileSink(spark, f"file://{root}/e/dl"),
                            EVENT_SCHEMA)
    rows = {
        "(d) Spark: + hour partitions": lambda df, i: plain.add_batch(i, bench_spark.transform(df, "partition")),
        "(e) the job's BatchWriter": lambda df, i: writer(df, i),
    }
    took: dict[str, list[tuple[float, float]]] = {name: [] for name in rows}
    for r in range(a.rounds):
        for name, run in rows.items():
            df = batch(r % ranges)
            t0, c0 = time.perf_counter(), cpu()
            run(df, r)
            took[name].append((time.perf_counter() - t0, cpu() - c0))
    print(f"{a.batch} records per batch, {a.rounds} rounds (the first left out), median [min-max]:")
    walls = {}
    for name, runs in took.items():
        wall, cpus = summarize([w for w, _ in runs[1:]]), summarize([c for _, c in runs[1:]])
        walls[name] = wall.median
        print(f"  {name:<32} {wall.median:.2f} s [{wall.low:.2f}-{wall.high:.2f}] wall, "
              f"{cpus.median:.2f} CPU s [{cpus.low:.2f}-{cpus.high:.2f}]")
    d, e = walls.values()
    print(f"  (e)/(d) records/s: {d / e:.3f}")
    spark.stop()


if __name__ == "__main__":
    main()
