"""The real job (a separate process) against a real Kafka broker and moto's S3, read back through Spark."""
from __future__ import annotations

import json
import uuid

import pytest
from pyspark.sql import functions as F

from helpers import (
    invalid_values,
    wait_until,
    job_args,
    produce,
    read_topic,
    start_job,
    valid_event,
)
from streaming_consumer import io as job_io


def new_topic(spark, kafka, partitions=2) -> str:
    name = f"events-{uuid.uuid4().hex[:8]}"
    job_io.ensure_topics(
        spark, job_io.kafka_client_properties(kafka.bootstrap, "none"),
        [job_io.TopicSpec(name, partitions, 1)],
    )
    return name


def mixed_values(start: int, n_valid: int, tag: str) -> tuple[list[str], dict[str, str]]:
    """n_valid valid events plus one of each invalid kind; returns (values, {invalid raw: expected phrase})."""
    invalid = dict(invalid_values(tag))
    values = [json.dumps(valid_event(i)) for i in range(start, start + n_valid)] + list(invalid)
    return values, invalid


def read_results(spark, base: str, topic: str):
    out = spark.read.parquet(f"{base}/data/{topic}")
    dead = spark.read.parquet(f"{base}/dead-letter/{topic}")
    return out, dead


def assert_exactly_once(spark, kafka, base, topic, invalid_expect: dict[str, str]):
    """Every offset of the topic appears exactly once across output and dead letter, with the right content."""
    truth = read_topic(spark, kafka.bootstrap, topic)
    out, dead = read_results(spark, base, topic)
    out_rows = out.select("event_id", "type", "amount", "kafka_topic", "kafka_partition", "kafka_offset",
                          F.date_format(F.to_utc_timestamp("event_time", spark.conf.get("spark.sql.session.timeZone")),
                                        "yyyy-MM-dd'T'HH:mm:ss'Z'").alias("event_time"),
                          "year", "month", "day", "hour").collect()
    dead_rows = dead.select("raw_value", "error", "kafka_topic", "kafka_partition", "kafka_offset").collect()
    seen = [(r.kafka_partition, r.kafka_offset) for r in out_rows] + [(r.kafka_partition, r.kafka_offset) for r in dead_rows]
    dupes = {k for k in seen if seen.count(k) > 1}
    assert not dupes, f"offsets written more than once: {sorted(dupes)[:10]}"
    missing = set(truth) - set(seen)
    assert not missing, f"offsets lost: {sorted(missing)[:10]} ({len(missing)} in all)"
    assert set(seen) == set(truth)
    for r in out_rows:
        produced = json.loads(truth[(r.kafka_partition, r.kafka_offset)])
        assert r.kafka_topic == topic
        assert (r.event_id, r.type, r.amount, r.event_time) == (
            produced["event_id"], produced["type"], produced["amount"], produced["event_time"]
        )
        # Spark infers the zero-padded folder names (month=05) as integers when reading back.
        t = produced["event_time"]
        assert (r.year, r.month, r.day, r.hour) == (int(t[0:4]), int(t[5:7]), int(t[8:10]), int(t[11:13]))
    for r in dead_rows:
        assert r.raw_value == truth[(r.kafka_partition, r.kafka_offset)]
        assert r.raw_value in invalid_expect, f"a valid record went to the dead letter: {r.raw_value} ({r.error})"
        assert invalid_expect[r.raw_value] in r.error
    return len(out_rows), len(dead_rows)


@pytest.fixture(scope="module")
def drained(spark, kafka, s3, tmp_path_factory):
    """A mixed topic consumed once with --available-now; the tests below inspect and extend it."""
    tmp = tmp_path_factory.mktemp("drained")
    base = f"s3a://{s3.bucket}/drained-{uuid.uuid4().hex[:8]}"
    topic = new_topic(spark, kafka)
    values, invalid = mixed_values(0, 40, "a")
    produce(spark, kafka.bootstrap, topic, values, partitions=2)
    run = start_job(job_args(kafka.bootstrap, topic, base, s3, "--available-now"), tmp / "job.log")
    assert run.wait(240) == 0, run.log_tail()
    return {"base": base, "topic": topic, "values": values, "invalid": invalid, "run": run, "tmp": tmp}


def test_available_now_writes_every_record_to_output_or_dead_letter(spark, kafka, s3, drained):
    base, topic, values, invalid, run = (drained[k] for k in ("base", "topic", "values", "invalid", "run"))
    n_out, n_dead = assert_exactly_once(spark, kafka, base, topic, invalid)
    assert (n_out, n_dead) == (40, len(invalid))
    # Partition folders really are year=/month=/day=/hour= (zero-padded) under the output root.
    keys = [o["Key"] for o in s3.client.list_objects_v2(Bucket=s3.bucket, Prefix=base[len(f"s3a://{s3.bucket}/"):] + f"/data/{topic}/")["Contents"]]
    assert any("/year=2024/month=05/day=01/hour=10/" in k and k.endswith(".parquet") for k in keys), keys[:5]


def test_each_batch_logs_one_json_progress_line(drained):
    values, invalid, run = drained["values"], drained["invalid"], drained["run"]
    progress = [e for e in run.events() if e["event"] == "batch_progress"]
    assert progress, run.log_tail()
    assert sum(e["rows_in"] for e in progress) == len(values)
    assert sum(e.get("valid_rows", 0) for e in progress) == 40
    assert sum(e.get("dead_letter_rows", 0) for e in progress) == len(invalid)
    assert all({"rows_per_second", "batch_duration_ms", "offsets_behind_latest"} <= e.keys() for e in progress)
    assert progress[-1]["offsets_behind_latest"] == 0


def test_refuses_to_start_with_a_new_checkpoint_against_an_output_that_has_a_sink_log(spark, kafka, s3, drained):
    base, topic = drained["base"], drained["topic"]
    args = job_args(kafka.bootstrap, topic, base, s3, "--available-now")
    args[args.index("--checkpoint") + 1] = f"{base}/checkpoints/other"
    refused = start_job(args, drained["tmp"] / "refused.log")
    assert refused.wait(240) == 3, refused.log_tail()
    log = refused.log_path.read_text()
    assert "already has a file-sink log (_spark_metadata" in log and "is new" in log
    assert any(e["event"] == "refused_to_start" for e in refused.events())
    out, dead = read_results(spark, base, topic)
    assert out.count() == 40 and dead.count() == len(drained["invalid"])


def test_a_second_run_on_the_same_checkpoint_reads_only_new_records(spark, kafka, s3, drained):
    base, topic = drained["base"], drained["topic"]
    more, more_invalid = mixed_values(100, 5, "b")
    produce(spark, kafka.bootstrap, topic, more, partitions=2)
    run = start_job(job_args(kafka.bootstrap, topic, base, s3, "--available-now"), drained["tmp"] / "job2.log")
    assert run.wait(240) == 0, run.log_tail()
    n_out, n_dead = assert_exactly_once(spark, kafka, base, topic, {**drained["invalid"], **more_invalid})
    assert (n_out, n_dead) == (45, 2 * len(drained["invalid"]))
    assert sum(e["rows_in"] for e in run.events() if e["event"] == "batch_progress") == len(more)


def test_a_topic_reset_under_the_checkpoint_fails_the_job_instead_of_skipping_data(spark, kafka, s3, drained):
    """failOnDataLoss stays on: offsets the checkpoint has read are gone, so the job stops (exit 1) and
    says why, rather than silently starting over. Runs last in this module: it recreates the topic."""
    base, topic = drained["base"], drained["topic"]
    jvm = spark._jvm
    props = jvm.java.util.Properties()
    props.setProperty("bootstrap.servers", kafka.bootstrap)
    admin = jvm.org.apache.kafka.clients.admin.AdminClient.create(props)
    try:
        names = jvm.java.util.ArrayList()
        names.add(topic)
        admin.deleteTopics(names).all().get()
    finally:
        admin.close()
    def recreated():
        try:
            return job_io.ensure_topics(spark, job_io.kafka_client_properties(kafka.bootstrap, "none"),
                                        [job_io.TopicSpec(topic, 2, 1)]) == {topic: "created"}
        except Exception:  # deletion still in progress
            return False

    wait_until(recreated, 60, "the topic to be recreated")
    produce(spark, kafka.bootstrap, topic, [json.dumps(valid_event(9999))], partitions=2)
    before = read_results(spark, base, topic)[0].count()
    run = start_job(job_args(kafka.bootstrap, topic, base, s3, "--available-now"), drained["tmp"] / "reset.log")
    assert run.wait(240) == 1, run.log_tail()
    failed = [e for e in run.events() if e["event"] == "query_failed"]
    assert failed, run.log_tail()
    assert "failOnDataLoss" in failed[0]["error"] or "data loss" in failed[0]["error"].lower(), failed[0]["error"]
    assert read_results(spark, base, topic)[0].count() == before
