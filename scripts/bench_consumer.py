"""Driver of scripts/bench-consumer.sh: produce, run the consumer, run ConsumerPerformance, compare."""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

TOPIC = "bench-events"
PARTITIONS = 4


def jars() -> list[str]:
    d = Path(os.environ["STREAMING_JARS_DIR"])
    return sorted(str(p) for p in d.glob("*.jar"))


def produce(bootstrap: str, records: int) -> float:
    from pyspark.sql import SparkSession
    from pyspark.sql import functions as F

    from streaming_consumer import io as job_io

    spark = (
        SparkSession.builder.master("local[2]").appName("bench-produce")
        .config("spark.jars", ",".join(jars())).config("spark.ui.enabled", "false")
        .config("spark.driver.memory", "2g").getOrCreate()
    )
    spark.sparkContext.setLogLevel("WARN")
    job_io.ensure_topics(spark, {"bootstrap.servers": bootstrap}, [job_io.TopicSpec(TOPIC, PARTITIONS, 1)])
    padding = "x" * 134  # brings a record to ~300 bytes
    df = spark.range(records, numPartitions=PARTITIONS).select(
        (F.col("id") % PARTITIONS).cast("int").alias("partition"),
        F.to_json(F.struct(
            F.concat(F.lit("evt-"), F.lpad(F.col("id").cast("string"), 12, "0")).alias("event_id"),
            F.date_format(F.timestamp_seconds(F.lit(1714521600) + F.col("id") % 86400), "yyyy-MM-dd'T'HH:mm:ss'Z'").alias("event_time"),
            F.when(F.col("id") % 3 == 0, "purchase").otherwise("view").alias("type"),
            F.concat(F.lit("user-"), (F.col("id") % 10007).cast("string")).alias("user_id"),
            (F.col("id") % 1000 / 10).alias("amount"),
            F.create_map(F.lit("campaign"), F.lit("spring-sale"), F.lit("pad"), F.lit(padding)).alias("attributes"),
        )).alias("value"),
    )
    size = len(df.limit(1).collect()[0].value.encode())
    start = time.monotonic()
    (df.write.format("kafka").option("kafka.bootstrap.servers", bootstrap).option("topic", TOPIC)
     .option("kafka.linger.ms", "20").option("kafka.batch.size", "262144").option("kafka.compression.type", "none")
     .save())
    took = time.monotonic() - start
    spark.stop()
    print(f"produced {records} records of ~{size} bytes in {took:.1f}s")
    return size


def run_consumer(bootstrap: str, work: Path) -> dict:
    out = work / "consumer.log"
    cmd = [
        sys.executable, "-m", "streaming_consumer",
        "--bootstrap-servers", bootstrap, "--topic", TOPIC,
        "--output", f"file://{work}/data", "--dead-letter", f"file://{work}/dead-letter",
        "--checkpoint", f"file://{work}/checkpoint", "--available-now",
        "--conf", "spark.master=local[2]", "--conf", "spark.sql.shuffle.partitions=2",
        "--conf", "spark.driver.memory=4g", "--conf", "spark.ui.enabled=false",
        "--conf", f"spark.jars={','.join(jars())}",
    ]
    start = time.monotonic()
    with open(out, "wb") as log:
        rc = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT).returncode
    wall = time.monotonic() - start
    events = [json.loads(l) for l in out.read_text(errors="replace").splitlines() if l.startswith('{"ts"')]
    progress = [e for e in events if e["event"] == "batch_progress"]
    if rc != 0 or not progress:
        print(out.read_text()[-4000:])
        raise SystemExit(f"consumer failed (exit {rc})")
    rows = sum(e["rows_in"] for e in progress)
    valid = sum(e.get("valid_rows", 0) for e in progress)
    busy_ms = sum(e["batch_duration_ms"] for e in progress if e["rows_in"])
    return {"rows": rows, "valid": valid, "batches": len([e for e in progress if e["rows_in"]]),
            "busy_s": busy_ms / 1000, "wall_s": wall, "rate": rows / (busy_ms / 1000)}


def run_consumer_perf(bootstrap: str, records: int, kafka_libs: str) -> dict:
    cmd = ["java", "-Xmx1g", "-cp", f"{kafka_libs}/*", "org.apache.kafka.tools.ConsumerPerformance",
           "--bootstrap-server", bootstrap, "--topic", TOPIC, "--messages", str(records), "--timeout", "60000",
           "--group", f"bench-{int(time.time())}"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    lines = [l for l in proc.stdout.splitlines() if l.strip()]
    if proc.returncode != 0 or len(lines) < 2:
        raise SystemExit(f"ConsumerPerformance failed: {proc.stdout}\n{proc.stderr[-3000:]}")
    header = [h.strip() for h in lines[0].split(",")]
    values = [v.strip() for v in lines[-1].split(",")]
    row = dict(zip(header, values))
    return {"rows": int(row["data.consumed.in.nMsg"]), "rate": float(row["nMsg.sec"]),
            "fetch_rate": float(row["fetch.nMsg.sec"]), "raw": row}


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    java = subprocess.run(["java", "-version"], capture_output=True, text=True).stderr.splitlines()[0]
    return f"{os.cpu_count()} cores ({cpu}), {mem:.0f} GiB, {platform.system()} {platform.release()}, {java}, Python {platform.python_version()}"


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--bootstrap", required=True)
    p.add_argument("--records", type=int, required=True)
    p.add_argument("--work", type=Path, required=True)
    p.add_argument("--kafka-libs", required=True)
    a = p.parse_args()
    size = produce(a.bootstrap, a.records)
    consumer = run_consumer(a.bootstrap, a.work)
    if consumer["rows"] != a.records or consumer["valid"] != a.records:
        raise SystemExit(f"consumer read {consumer['rows']} rows ({consumer['valid']} valid), expected {a.records}")
    perf = run_consumer_perf(a.bootstrap, a.records, a.kafka_libs)
    if perf["rows"] < a.records:
        raise SystemExit(f"ConsumerPerformance read only {perf['rows']} of {a.records}")
    print()
    print(f"machine: {machine()}")
    print(f"records: {a.records} x ~{size} bytes, {PARTITIONS} partitions")
    print(f"streaming consumer (--available-now, local[2]): {consumer['rate']:,.0f} records/s "
          f"({consumer['batches']} batch(es), {consumer['busy_s']:.1f}s in batches, {consumer['wall_s']:.1f}s process wall time incl. JVM start)")
    print(f"kafka ConsumerPerformance: {perf['fetch_rate']:,.0f} records/s fetch rate "
          f"({perf['rate']:,.0f} records/s including group join)")
    print(f"ratio consumer / ConsumerPerformance fetch rate: {consumer['rate'] / perf['fetch_rate']:.3f}")


if __name__ == "__main__":
    main()
