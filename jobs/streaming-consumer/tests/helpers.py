"""Test helpers: producing to Kafka, running the job as a real process, reading results back."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

JOB_DIR = Path(__file__).resolve().parents[1]
REPO_ROOT = JOB_DIR.parents[1]


# The job's own JVM functions (jvm/), built by build-udfs.sh into the same folder as the fetched jars.
UDF_JAR = "streaming-consumer-udfs.jar"


def jars_dir() -> Path:
    d = Path(os.environ.get("STREAMING_JARS_DIR", REPO_ROOT / ".cache" / "jars"))
    if not any(d.glob("*.jar")):
        raise RuntimeError(f"no jars in {d}: run scripts/test-python.sh (it fetches them) or set STREAMING_JARS_DIR")
    if not (d / UDF_JAR).is_file():
        raise RuntimeError(f"{d} has no {UDF_JAR} (the job's JVM functions): run scripts/setup-python.sh, which builds it")
    return d


def jar_paths() -> list[str]:
    return sorted(str(p) for p in jars_dir().glob("*.jar"))


def s3_compatible_settings() -> dict[str, str]:
    """S3A settings for S3-compatible endpoints, shared with the local engine (components/local/s3a.ts)."""
    return json.loads((JOB_DIR / "s3-compatible.json").read_text())["settings"]


@dataclass
class S3Env:
    endpoint: str
    bucket: str
    client: Any = None

    def hadoop_conf(self) -> dict[str, str]:
        return {
            # What every S3-compatible endpoint needs: the same file the local engine's program reads.
            **s3_compatible_settings(),
            "fs.s3a.endpoint": self.endpoint,
            "fs.s3a.endpoint.region": "us-east-1",
            "fs.s3a.connection.ssl.enabled": str(self.endpoint.startswith("https://")).lower(),
            "fs.s3a.aws.credentials.provider": "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider",
            "fs.s3a.access.key": "test",
            "fs.s3a.secret.key": "test",
            "fs.s3a.attempts.maximum": "3",
            "fs.s3a.retry.limit": "3",
        }

    def job_conf_flags(self) -> list[str]:
        flags = []
        for k, v in self.hadoop_conf().items():
            flags += ["--conf", f"spark.hadoop.{k}={v}"]
        return flags


def local_job_flags(local: bool = True) -> list[str]:
    """Spark settings for a test run of the job: small and loopback-only. `local`: in-process Spark
    with the fetched jars (python -m); otherwise the entrypoint chooses the master and the jars."""
    flags = [
        "--conf", "spark.sql.shuffle.partitions=2",
        "--conf", "spark.ui.enabled=false",
        "--conf", "spark.driver.host=127.0.0.1",
        "--conf", "spark.driver.bindAddress=127.0.0.1",
    ]
    if local:
        flags += [
            "--conf", "spark.master=local[2]",
            "--conf", "spark.driver.memory=1g",
            "--conf", f"spark.jars={','.join(jar_paths())}",
        ]
    return flags


def python_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(JOB_DIR) + os.pathsep + env.get("PYTHONPATH", "")
    env["SPARK_LOCAL_IP"] = "127.0.0.1"
    env["PYTHONUNBUFFERED"] = "1"
    return env


@dataclass
class JobRun:
    proc: subprocess.Popen
    log_path: Path

    def wait(self, timeout: float) -> int:
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"job did not finish within {timeout}s; log tail:\n{self.log_tail()}")

    def kill(self) -> None:
        """SIGKILL the whole process group: python driver and its JVM, like a crashed host."""
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(timeout=30)

    def events(self) -> list[dict]:
        out = []
        for line in self.log_path.read_text(errors="replace").splitlines():
            if line.startswith("{"):
                try:
                    out.append(json.loads(line))
                except json.JSONDecodeError:
                    pass
        return out

    def log_tail(self, n: int = 60) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])


def start_job(args: list[str], log_path: Path, cmd: list[str] | None = None, env: dict | None = None,
              cwd: Path | None = None) -> JobRun:
    log = open(log_path, "ab")
    proc = subprocess.Popen(
        (cmd or [sys.executable, "-m", "streaming_consumer"]) + args,
        cwd=cwd or JOB_DIR,
        env=env or python_env(),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    return JobRun(proc, log_path)


FAULTY = [sys.executable, "-m", "faulty_consumer"]


def fault_env(faults: dict) -> dict[str, str]:
    """The environment of a job run through tests/faulty_consumer.py with these faults."""
    env = python_env()
    env["PYTHONPATH"] = str(JOB_DIR / "tests") + os.pathsep + env["PYTHONPATH"]
    env["TEST_FAULTS"] = json.dumps(faults)
    return env


def job_args(bootstrap: str, topic: str, base: str, s3, *extra: str, local: bool = True) -> list[str]:
    return [
        "--bootstrap-servers", bootstrap,
        "--topic", topic,
        "--output", f"{base}/data/{topic}",
        "--dead-letter", f"{base}/dead-letter/{topic}",
        "--checkpoint", f"{base}/checkpoints/{topic}",
        *s3.job_conf_flags(),
        *local_job_flags(local),
        *extra,
    ]


def stop_process_groups(procs: list[subprocess.Popen]) -> None:
    """SIGTERM each process group (newest first), then wait; SIGKILL what does not exit in 30 s."""
    for p in reversed(procs):
        try:
            os.killpg(p.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    for p in procs:
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)


def wait_until(predicate, timeout: float, what: str, interval: float = 0.5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


# --- data -------------------------------------------------------------------------------------------

def valid_event(i: int, hour: int = 10) -> dict:
    return {
        "event_id": f"e-{i}",
        "event_time": f"2024-05-0{1 + i % 3}T{hour:02d}:{i % 60:02d}:00Z",
        "type": "click" if i % 2 else "view",
        "user_id": f"u-{i % 7}",
        "amount": i * 1.5,
        "attributes": {"source": "test", "n": str(i)},
    }


def invalid_values(tag: str) -> list[tuple[str, str]]:
    """(raw value, a phrase its dead-letter error must contain): one of each kind of invalid record."""
    return [
        (f"not json {tag}", "not valid JSON"),
        (f'["array", "{tag}"]', "value is a JSON array, not a JSON object"),
        (f'{{"event_id": "m-{tag}", "type": "click"}}', "event_time: required field is missing"),
        (f'{{"event_id": "w-{tag}", "event_time": "2024-05-01T00:00:00Z", "type": "t", "amount": "12.5"}}', 'amount: expected a number, got a string "12.5"'),
        (f'{{"event_id": "ts-{tag}", "event_time": "yesterday", "type": "t"}}', "event_time: expected an ISO-8601 timestamp"),
        (f'{{"event_id": 42, "event_time": "2024-05-01T00:00:00Z", "type": "t", "user_id": "{tag}"}}', "event_id: expected a string, got a number 42"),
        (f'{{"event_id": "x-{tag}", "event_time": "2024-05-01T00:00:00Z", "type": "t", ', "not valid JSON"),
    ]


def produce(spark, bootstrap: str, topic: str, values: list, partitions: int = 1) -> None:
    """Write values (text, bytes, or None for a tombstone) to the topic through Spark's Kafka sink, spread
    round-robin over partitions."""
    def as_bytes(v):
        return None if v is None else bytearray(v if isinstance(v, (bytes, bytearray)) else v.encode("utf-8"))

    rows = [(i % partitions, as_bytes(v)) for i, v in enumerate(values)]
    df = spark.createDataFrame(rows, "partition int, value binary")
    (
        df.write.format("kafka")
        .option("kafka.bootstrap.servers", bootstrap)
        .option("topic", topic)
        .option("kafka.acks", "all")
        .option("kafka.enable.idempotence", "true")
        .save()
    )


def read_topic(spark, bootstrap: str, topic: str, raw: bool = False) -> dict[tuple[int, int], Any]:
    """(partition, offset) -> value of every record in the topic: the ground truth (text, or bytes with raw)."""
    rows = (
        spark.read.format("kafka")
        .option("kafka.bootstrap.servers", bootstrap)
        .option("subscribe", topic)
        .option("startingOffsets", "earliest")
        .load()
        .selectExpr("partition", "offset", "value" if raw else "cast(value as string) as value")
        .collect()
    )
    return {(r.partition, r.offset): (None if r.value is None else bytes(r.value)) if raw else r.value for r in rows}


# --- S3 read directly, as non-Spark readers do (pyarrow, Athena, a listing): no sink log ------------------

def _key(s3, uri: str) -> str:
    return uri.split(f"{s3.bucket}/", 1)[1].rstrip("/")


def list_keys(s3, uri: str) -> list[str]:
    keys, token = [], None
    while True:
        kwargs = {"Bucket": s3.bucket, "Prefix": _key(s3, uri) + "/"}
        if token:
            kwargs["ContinuationToken"] = token
        page = s3.client.list_objects_v2(**kwargs)
        keys += [o["Key"] for o in page.get("Contents", [])]
        token = page.get("NextContinuationToken")
        if not token:
            return keys


def data_keys(s3, uri: str) -> list[str]:
    """Every Parquet file under a location that a plain listing shows (what Athena or pyarrow would read)."""
    return [k for k in list_keys(s3, uri) if k.endswith(".parquet") and "/_spark_metadata/" not in k]


def sink_log_keys(s3, uri: str) -> set[str]:
    """The files a location's file-sink log lists, read from the log's own files (not through Spark)."""
    listed, removed = set(), set()
    for key in list_keys(s3, uri):
        if "/_spark_metadata/" not in key:
            continue
        body = s3.client.get_object(Bucket=s3.bucket, Key=key)["Body"].read().decode()
        for line in body.splitlines()[1:]:  # first line: the log version ("v1")
            entry = json.loads(line)
            (removed if entry.get("action") == "delete" else listed).add(_key(s3, entry["path"]))
    return listed - removed


def stray_keys(s3, uri: str) -> list[str]:
    """Parquet files a listing shows that the sink log does not list: what non-Spark readers see twice."""
    return sorted(set(data_keys(s3, uri)) - sink_log_keys(s3, uri))


def read_listed_parquet(s3, uri: str) -> list[dict]:
    """Every row of every Parquet file under a location, read with pyarrow from a plain S3 listing."""
    import io

    import pyarrow.parquet as pq

    rows = []
    for key in data_keys(s3, uri):
        body = s3.client.get_object(Bucket=s3.bucket, Key=key)["Body"].read()
        rows += pq.read_table(io.BytesIO(body)).to_pylist()
    return rows


def assert_each_offset_once_in_listing(s3, base: str, topic: str, expected: set[tuple[int, int]]) -> tuple[list, list]:
    """Output and dead letter read with pyarrow from an S3 listing: each expected offset exactly once, no other."""
    out = read_listed_parquet(s3, f"{base}/data/{topic}")
    dead = read_listed_parquet(s3, f"{base}/dead-letter/{topic}")
    seen = [(r["kafka_partition"], r["kafka_offset"]) for r in out + dead]
    dupes = sorted({k for k in seen if seen.count(k) > 1})
    assert not dupes, f"a plain listing shows offsets more than once: {dupes[:10]} ({len(dupes)} in all)"
    assert set(seen) == expected, f"missing {sorted(expected - set(seen))[:10]}, unexpected {sorted(set(seen) - expected)[:10]}"
    return out, dead
