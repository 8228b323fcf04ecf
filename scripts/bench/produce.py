"""Child process of bench_consumer.py: create topics and fill them with the benchmark's records (PySpark).

    python scripts/bench/produce.py --bootstrap H:P --partitions 4 --topic NAME:RECORDS:clean|mix ...

Values come from bench/records.py, built in Spark's Python workers; each topic is created first (the broker does
not create topics on its own) and must not exist yet, so no run reads another run's records.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # scripts/, for `bench.records`

from bench import records as R  # noqa: E402


def create_topic(spark, bootstrap: str, name: str, partitions: int) -> None:
    jvm = spark._jvm
    props = jvm.java.util.Properties()
    props.put("bootstrap.servers", bootstrap)
    admin = jvm.org.apache.kafka.clients.admin.AdminClient.create(props)
    try:
        # Optional<Short> cannot be built through py4j: leave the replication factor to the broker's default (1).
        topic = jvm.org.apache.kafka.clients.admin.NewTopic(name, jvm.java.util.Optional.of(partitions), jvm.java.util.Optional.empty())
        admin.createTopics(jvm.java.util.Collections.singletonList(topic)).all().get()
    finally:
        admin.close()


def produce(spark, bootstrap: str, name: str, records: int, partitions: int, mix: bool) -> None:
    def row(i: int) -> tuple[int, bytearray]:
        return R.partition_of(i, records, partitions), bytearray(R.value(i, mix))

    rdd = spark.sparkContext.parallelize(range(records), partitions).map(row)
    df = spark.createDataFrame(rdd, "partition int, value binary")
    start = time.monotonic()
    (df.write.format("kafka").option("kafka.bootstrap.servers", bootstrap).option("topic", name)
     .option("kafka.linger.ms", "20").option("kafka.batch.size", "262144").option("kafka.compression.type", "none")
     .save())
    print(f"produced {records} records to {name} ({'1% malformed' if mix else 'all valid'}) in {time.monotonic() - start:.1f}s",
          flush=True)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--bootstrap", required=True)
    p.add_argument("--partitions", type=int, default=4)
    p.add_argument("--topic", action="append", required=True, metavar="NAME:RECORDS:clean|mix")
    p.add_argument("--jars", required=True, help="comma-separated spark.jars (the Kafka connector)")
    a = p.parse_args()
    from pyspark.sql import SparkSession

    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(Path(__file__).resolve().parents[1]), os.environ.get("PYTHONPATH")]))
    spark = (SparkSession.builder.master("local[2]").appName("bench-produce").config("spark.jars", a.jars)
             .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false")
             .config("spark.driver.memory", "2g").getOrCreate())
    spark.sparkContext.setLogLevel("WARN")
    try:
        for spec in a.topic:
            name, records, kind = spec.split(":")
            if kind not in ("clean", "mix"):
                raise SystemExit(f"--topic {spec}: the kind must be clean or mix")
            create_topic(spark, a.bootstrap, name, a.partitions)
            produce(spark, a.bootstrap, name, int(records), a.partitions, kind == "mix")
    finally:
        spark.stop()


if __name__ == "__main__":
    main()
