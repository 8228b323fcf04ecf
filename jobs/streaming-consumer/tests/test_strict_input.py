"""Hostile but realistic producers, for real (Kafka -> the job -> moto S3), in one job run on one topic: every
class of bad input, dates across the whole range in many offsets, and a few hundred generated values checked
against the independent oracle; the query is still running afterwards and stops cleanly."""
from __future__ import annotations

import io
import json
import signal

import pyarrow.parquet as pq
import pytest
from pyspark.sql import functions as F

import oracle
import strategies
from helpers import (
    data_keys,
    job_args,
    produce,
    python_env,
    read_listed_parquet,
    read_topic,
    start_job,
    valid_event,
    wait_until,
)
from test_end_to_end import new_topic
from test_transforms import DATE_CASES, INVALID_CASES, OUT_OF_RANGE, STRICT_CASES, ev

GENERATED = 300
# A hostile cluster: defaults (as spark-defaults.conf or spark-submit would give them) that make Spark write
# INT96 timestamps and rebase old dates to the legacy Julian calendar, which non-Spark readers do not undo. The
# job pins its own write settings over them; what it wrote must read back as the same instants anyway.
LEGACY_CLUSTER_DEFAULTS = " ".join(
    f"--conf {k}={v}" for k, v in {
        "spark.sql.parquet.outputTimestampType": "INT96",
        "spark.sql.parquet.datetimeRebaseModeInWrite": "LEGACY",
        "spark.sql.parquet.int96RebaseModeInWrite": "LEGACY",
        "spark.sql.parquet.datetimeRebaseModeInRead": "LEGACY",
        "spark.sql.parquet.int96RebaseModeInRead": "LEGACY",
    }.items()
) + " pyspark-shell"
LAST = json.dumps({**valid_event(9999), "event_id": "after-the-storm"})


def _bytes(v):
    return None if v is None else v if isinstance(v, bytes) else v.encode("utf-8")


@pytest.fixture(scope="module")
def storm(spark, kafka, s3, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("storm")
    base = f"s3a://{s3.bucket}/storm-{tmp.name[-6:]}"
    topic = new_topic(spark, kafka, partitions=2)
    run_seed = strategies.run_seed()
    print(f"HYPOTHESIS_SEED={run_seed}")
    classes = {_bytes(v): phrase for v, phrase in STRICT_CASES + INVALID_CASES}
    dates = {_bytes(ev(event_id=f"d-{i}", event_time=t)): instant for i, (t, instant) in enumerate(DATE_CASES)}
    too_far = [_bytes(ev(event_id=f"far-{i}", event_time=t)) for i, t in enumerate(OUT_OF_RANGE)]
    generated = strategies.collect(strategies.all_values, GENERATED, run_seed)
    produce(spark, kafka.bootstrap, topic, list(classes) + list(dates) + too_far + generated, partitions=2)

    args = job_args(kafka.bootstrap, topic, base, s3, "--trigger-interval", "1 second", "--max-offsets-per-trigger", "150")
    run = start_job(args, tmp / "job.log", env={**python_env(), "PYSPARK_SUBMIT_ARGS": LEGACY_CLUSTER_DEFAULTS})

    def caught_up(ends):
        def check():
            assert run.proc.poll() is None, f"the query died:\n{run.log_tail()}"
            return any(json.loads(e["end_offsets"][0]).get(topic) == ends for e in run.events() if e["event"] == "batch_progress")
        return check

    def end_offsets():
        truth = read_topic(spark, kafka.bootstrap, topic)
        return {str(p): max(o for q, o in truth if q == p) + 1 for p, _ in truth}

    wait_until(caught_up(end_offsets()), 300, "the job to work through the storm")
    # Still running: a record produced afterwards is written by a later batch of the same run.
    produce(spark, kafka.bootstrap, topic, [LAST], partitions=1)
    wait_until(caught_up(end_offsets()), 120, "the record produced after the storm")
    run.proc.send_signal(signal.SIGTERM)
    assert run.wait(120) == 0, run.log_tail()
    return {
        "base": base, "topic": topic, "run": run, "classes": classes, "dates": dates, "too_far": too_far,
        "truth": read_topic(spark, kafka.bootstrap, topic, raw=True), "seed": run_seed,
    }


def _rows(spark, storm):
    out = spark.read.parquet(f"{storm['base']}/data/{storm['topic']}")
    dead = spark.read.parquet(f"{storm['base']}/dead-letter/{storm['topic']}")
    return out, dead


def test_no_record_failed_a_batch_and_the_query_ran_on_to_a_clean_stop(storm):
    events = storm["run"].events()
    assert not [e for e in events if e["event"] in ("query_failed", "query_terminated") and e.get("exception")]
    assert sum(e["rows_in"] for e in events if e["event"] == "batch_progress") == len(storm["truth"])
    # The listener's query_terminated may be logged just before or after the job's own "stopped".
    names = [e["event"] for e in events]
    assert "stopped" in names and set(names[names.index("stopped") + 1:]) <= {"query_terminated"}, names[-5:]


def test_every_class_of_bad_input_goes_to_the_dead_letter_with_its_reason(spark, storm):
    out, dead = _rows(spark, storm)
    errors = {(r.kafka_partition, r.kafka_offset): r.error for r in dead.collect()}
    by_value = {v: k for k, v in storm["truth"].items()}
    for value, phrase in storm["classes"].items():
        key = by_value[value]
        assert key in errors, f"{value!r:.100} is not in the dead letter"
        assert phrase in errors[key], (value, errors[key])
    assert out.where(F.col("event_id") == "after-the-storm").count() == 1


def test_the_job_ran_with_legacy_calendar_defaults_and_pinned_its_own_write_settings(storm):
    [started] = [e for e in storm["run"].events() if e["event"] == "session_settings"]
    assert started["settings"] == {
        "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
        "spark.sql.parquet.datetimeRebaseModeInWrite": "CORRECTED",
        "spark.sql.parquet.int96RebaseModeInWrite": "CORRECTED",
        "spark.sql.ansi.enabled": "false",
    }
    assert started["overridden"] == {
        "spark.sql.parquet.outputTimestampType": "INT96",
        "spark.sql.parquet.datetimeRebaseModeInWrite": "LEGACY",
        "spark.sql.parquet.int96RebaseModeInWrite": "LEGACY",
    }


@pytest.mark.parametrize("mode", ["LEGACY", "CORRECTED", "EXCEPTION"])
def test_dates_across_the_whole_range_read_back_as_the_same_instant_whatever_the_rebase_mode(spark, storm, mode):
    """Written by a job whose cluster defaults were LEGACY/INT96 (see storm), read back by Spark with the
    datetime and INT96 read rebase modes set to each value, and by pyarrow in the test below."""
    keys = ["spark.sql.parquet.datetimeRebaseModeInRead", "spark.sql.parquet.int96RebaseModeInRead"]
    old = {k: spark.conf.get(k) for k in keys}
    for k in keys:
        spark.conf.set(k, mode)
    try:
        out, dead = _rows(spark, storm)
        got = {r.event_id: r.micros for r in out.where(F.col("event_id").startswith("d-")).select(
            "event_id", F.unix_micros("event_time").alias("micros")).collect()}
    finally:
        for k, v in old.items():
            spark.conf.set(k, v)
    want = {json.loads(v)["event_id"]: oracle.micros(instant) for v, instant in storm["dates"].items()}
    assert got == want
    far = {r.raw_value.encode() for r in dead.where(F.col("error").contains("outside the years 0001-9999")).collect()}
    # The generated values may hold out-of-range instants too (the oracle test checks those).
    assert set(storm["too_far"]) <= far


def test_a_non_spark_reader_sees_the_same_instants_as_microsecond_utc_timestamps(s3, storm):
    location = f"{storm['base']}/data/{storm['topic']}"
    schema = pq.read_schema(io.BytesIO(s3.client.get_object(Bucket=s3.bucket, Key=data_keys(s3, location)[0])["Body"].read()))
    assert str(schema.field("event_time").type) == "timestamp[us, tz=UTC]"
    got = {r["event_id"]: r["event_time"] for r in read_listed_parquet(s3, location) if r["event_id"].startswith("d-")}
    want = {json.loads(v)["event_id"]: instant for v, instant in storm["dates"].items()}
    assert got == want


def test_generated_values_through_kafka_land_where_the_oracle_says(spark, storm):
    out, dead = _rows(spark, storm)
    keys = sorted(storm["truth"])
    index = {k: i for i, k in enumerate(keys)}
    out_rows = {index[(r.kafka_partition, r.kafka_offset)]: {
        "event_id": r.event_id, "type": r.type, "user_id": r.user_id, "amount": r.amount, "attributes": r.attributes,
        "micros": r.micros, "partition": (f"{r.year:04d}", f"{r.month:02d}", f"{r.day:02d}", f"{r.hour:02d}"),
    } for r in out.withColumn("micros", F.unix_micros("event_time")).drop("event_time").collect()}
    dead_rows = {index[(r.kafka_partition, r.kafka_offset)]: {"error": r.error, "raw_bytes": r.raw_bytes} for r in dead.collect()}
    values = [storm["truth"][k] for k in keys]
    problems = oracle.check_rows(values, out_rows, dead_rows)
    assert not problems, f"{len(problems)} disagreements (HYPOTHESIS_SEED={storm['seed']}):\n" + "\n".join(problems[:15])
    # Nothing of a record is lost: bytes that are not UTF-8 are kept exactly.
    for i, row in dead_rows.items():
        raw = values[i]
        try:
            None if raw is None else raw.decode("utf-8")
        except UnicodeDecodeError:
            assert bytes(row["raw_bytes"]) == raw
        else:
            assert row["raw_bytes"] is None
