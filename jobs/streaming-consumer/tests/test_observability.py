"""Observability against the real services: consumer-group offsets in the real Kafka broker, metrics as the
destinations read them (CloudWatch's PutMetricData as moto's server stores it, the Prometheus text format),
and the metric catalog the dashboards and alarms are checked against."""
from __future__ import annotations

import datetime
import json
import socket
import urllib.request
import uuid

import pytest
from helpers import JOB_DIR, job_args, produce, python_env, start_job, wait_until
from test_end_to_end import assert_exactly_once, mixed_values, new_topic

from streaming_consumer import io as job_io
from streaming_consumer import metrics
from streaming_consumer.group_offsets import offsets_from_progress

CATALOG = JOB_DIR / "metrics-catalog.json"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def group_offsets(bootstrap: str, group: str) -> dict[int, int]:
    """What Kafka's admin API says the group has committed: {partition: offset}."""
    from kafka import KafkaAdminClient
    from kafka.errors import KafkaError

    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="test-observability")
    try:
        return {tp.partition: om.offset for tp, om in admin.list_group_offsets(group).get(group, {}).items()}
    except KafkaError as e:
        if not e.retriable:
            raise
        return {}  # the broker creates __consumer_offsets and elects its coordinator on the first group request
    finally:
        admin.close()


def topic_end_offsets(bootstrap: str, topic: str) -> dict[int, int]:
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(bootstrap_servers=bootstrap)
    try:
        parts = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic)]
        return {tp.partition: off for tp, off in consumer.end_offsets(parts).items()}
    finally:
        consumer.close()


def checkpoint_next_offsets(s3, checkpoint_key: str, topic: str) -> dict[int, int]:
    """The checkpoint's truth: the end offsets of the last *committed* batch (commits/N, then offsets/N)."""
    def ids(folder):
        resp = s3.client.list_objects_v2(Bucket=s3.bucket, Prefix=f"{checkpoint_key}/{folder}/")
        return [int(k["Key"].rsplit("/", 1)[1]) for k in resp.get("Contents", []) if k["Key"].rsplit("/", 1)[1].isdigit()]

    committed = ids("commits")
    if not committed:
        return {}
    body = s3.client.get_object(Bucket=s3.bucket, Key=f"{checkpoint_key}/offsets/{max(committed)}")["Body"].read().decode()
    source = json.loads(body.strip().splitlines()[-1])
    return {int(p): int(o) for p, o in source[topic].items()}


def committed_events(run) -> dict[int, dict]:
    return {e["batch_id"]: e["offsets"] for e in run.events() if e["event"] == "group_offsets_committed"}


def progress_end_offsets(run) -> dict[int, dict]:
    out = {}
    for e in run.events():
        if e["event"] == "batch_progress" and e["rows_in"] > 0:
            out[e["batch_id"]] = offsets_from_progress({"sources": [{"endOffset": o} for o in e["end_offsets"]]})
    return out


def cloudwatch_client(moto_endpoint: str):
    import boto3

    return boto3.client("cloudwatch", endpoint_url=moto_endpoint, region_name="us-east-1",
                        aws_access_key_id="test", aws_secret_access_key="test")


def assert_metrics_as_destinations_read_them(cw, namespace: str, port: int, topic: str, n_values: int, n_invalid: int) -> None:
    """CloudWatch as moto's server stored the PutMetricData calls; Prometheus as its text-format parser reads /metrics."""
    from prometheus_client.parser import text_string_to_metric_families

    catalog = json.loads(CATALOG.read_text())
    wait_until(lambda: {m["MetricName"] for m in cw.list_metrics(Namespace=namespace)["Metrics"]} >= {m.name for m in metrics.METRICS},
               300, "every metric in CloudWatch")
    listed = cw.list_metrics(Namespace=namespace)["Metrics"]
    for m in listed:
        dims = {d["Name"]: d["Value"] for d in m["Dimensions"]}
        assert dims == {"Stack": "test", "Consumer": "c1", **({"Topic": topic} if metrics.BY_NAME[m["MetricName"]].per_topic else {})}, m
    emitted = {(m["MetricName"], tuple(sorted(d["Name"] for d in m["Dimensions"]))) for m in listed}
    assert emitted == {(m["name"], tuple(sorted(m["dimensions"]))) for m in catalog["cloudwatch"]["metrics"]}

    def total(name):
        stats = cw.get_metric_statistics(
            Namespace=namespace, MetricName=name, Dimensions=[{"Name": "Stack", "Value": "test"}, {"Name": "Consumer", "Value": "c1"}],
            StartTime=datetime.datetime(2020, 1, 1), EndTime=datetime.datetime(2100, 1, 1), Period=86400 * 365, Statistics=["Sum"],
        )["Datapoints"]
        return sum(d["Sum"] for d in stats)

    wait_until(lambda: total("InputRows") == n_values, 120, "every input row counted in CloudWatch")
    assert total("DeadLetterRows") == n_invalid
    assert total("ValidRows") == n_values - n_invalid

    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
    samples = {s.name: s for f in text_string_to_metric_families(text) for s in f.samples}
    for m in metrics.METRICS:
        assert m.prometheus in samples, (m.prometheus, sorted(samples))
        assert samples[m.prometheus].labels.get("consumer") == "c1"
    assert set(catalog["prometheus"]["metrics"]) == {m.prometheus for m in metrics.METRICS}
    assert samples["streaming_consumer_dead_letter_rows_total"].value == n_invalid
    assert samples["streaming_consumer_input_rows_total"].value == n_values
    assert samples["streaming_consumer_records_behind_latest"].labels["topic"] == topic
    assert samples["streaming_consumer_records_behind_latest"].value == 0


def test_group_offsets_are_the_next_offset_to_process_after_each_batch_and_a_kill_and_metrics_reach_their_destinations(
    spark, kafka, s3, moto, prefix, tmp_path
):
    topic = new_topic(spark, kafka, partitions=2)
    group = f"grp-{uuid.uuid4().hex[:8]}"
    namespace = f"Test/{uuid.uuid4().hex[:8]}"
    port = free_port()
    checkpoint_key = f"{prefix.split('/', 3)[3]}/checkpoints/{topic}"
    # Small batches: several per round, so "after each batch" is checked batch by batch.
    args = job_args(kafka.bootstrap, topic, prefix, s3, "--trigger-interval", "1 second", "--max-offsets-per-trigger", "30",
                    "--consumer-group", group,
                    "--cloudwatch-namespace", namespace, "--cloudwatch-region", "us-east-1", "--cloudwatch-endpoint", moto,
                    "--metrics-dimension", "Stack=test", "--metrics-dimension", "Consumer=c1", "--prometheus-port", str(port))
    # The AWS SDK's default chain reads these first, as it reads the instance or pod role on AWS.
    env = {**python_env(), "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_REGION": "us-east-1"}
    invalid = {}

    def settled(run):
        """Every record read, every batch's group commit done: the group equals the checkpoint and the topic's end."""
        end = topic_end_offsets(kafka.bootstrap, topic)
        return group_offsets(kafka.bootstrap, group) == end and checkpoint_next_offsets(s3, checkpoint_key, topic) == end

    def assert_each_batch_committed_its_end_offsets(run):
        # The progress line is written first, the group commit right after it on the listener thread.
        wait_until(lambda: set(progress_end_offsets(run)) <= set(committed_events(run)), 120, "a group commit for every batch")
        progress, commits = progress_end_offsets(run), committed_events(run)
        assert progress, run.log_tail()
        for batch_id, end in progress.items():
            assert {t: {int(p): o for p, o in parts.items()} for t, parts in commits.get(batch_id, {}).items()} == end, (batch_id, run.log_tail())

    values, inv = mixed_values(0, 60, "o1")
    invalid.update(inv)
    produce(spark, kafka.bootstrap, topic, values, partitions=2)
    run = start_job(args, tmp_path / "run1.log", env=env)
    try:
        # Generous bounds: a shared 2-core machine under load needs minutes for the first batch; the conditions end the waits.
        wait_until(lambda: settled(run) or run.proc.poll() is not None, 600, "round 1 in the group")
        assert run.proc.poll() is None, run.log_tail()
        assert sum(group_offsets(kafka.bootstrap, group).values()) == len(values)
        assert len(progress_end_offsets(run)) >= 3, "expected several batches"
        assert_each_batch_committed_its_end_offsets(run)
        assert_metrics_as_destinations_read_them(cloudwatch_client(moto), namespace, port, topic, len(values), len(inv))

        # Kill mid-stream: the group may trail the checkpoint by the batch in flight, never lead it.
        values, inv = mixed_values(1000, 80, "o2")
        invalid.update(inv)
        produce(spark, kafka.bootstrap, topic, values, partitions=2)
        before = len(progress_end_offsets(run))
        wait_until(lambda: len(progress_end_offsets(run)) >= before + 1, 300, "a batch of round 2")
        assert_each_batch_committed_its_end_offsets(run)
    finally:
        run.kill()
    in_group, in_checkpoint = group_offsets(kafka.bootstrap, group), checkpoint_next_offsets(s3, checkpoint_key, topic)
    assert all(in_group[p] <= in_checkpoint[p] for p in in_checkpoint), (in_group, in_checkpoint)
    assert in_checkpoint != topic_end_offsets(kafka.bootstrap, topic), "the kill should land with records unread"

    values, inv = mixed_values(2000, 30, "o3")
    invalid.update(inv)
    produce(spark, kafka.bootstrap, topic, values, partitions=2)
    run = start_job(args, tmp_path / "run2.log", env=env)
    try:
        wait_until(lambda: settled(run) or run.proc.poll() is not None, 600, "everything in the group after the restart")
        assert run.proc.poll() is None, run.log_tail()
        assert_each_batch_committed_its_end_offsets(run)
    finally:
        run.kill()
    assert_exactly_once(spark, kafka, prefix, topic, invalid)


def test_catalog_file_is_the_metrics_module():
    """The catalog the TypeScript dashboards and alarms are checked against is generated from METRICS."""
    assert json.loads(CATALOG.read_text()) == metrics.catalog(), "regenerate: python -m streaming_consumer.metrics > metrics-catalog.json"


PROGRESS = {
    "batchId": 7,
    "numInputRows": 120,
    "inputRowsPerSecond": 40.0,
    "processedRowsPerSecond": 60.5,
    "durationMs": {"triggerExecution": 45000},
    "sources": [
        {"endOffset": '{"t":{"0":10,"1":20}}', "latestOffset": '{"t":{"0":15,"1":20}}'},
    ],
}


def test_batch_samples_follow_the_progress():
    by = {(s.name, s.topic): s.value for s in metrics.batch_samples(PROGRESS, {"valid_rows": 117, "dead_letter_rows": 3}, 30000)}
    assert by[("TriggerOverrunMs", None)] == 15000
    assert by[("BatchDurationMs", None)] == 45000
    assert by[("RecordsBehindLatest", "t")] == 5
    assert by[("DeadLetterRows", None)] == 3 and by[("ValidRows", None)] == 117
    assert by[("ProcessedRowsPerSecond", None)] == 60.5
    assert by[("InputRows", None)] == 120
    assert metrics.batch_samples(PROGRESS, {}, None)[4].value == 0  # available-now: no interval to overrun


def test_input_rows_are_the_rows_the_batch_wrote_not_each_read_of_the_source():
    # Spark counts every read of the source: a batch whose left-out records were read again reports 180 for 120 rows.
    reread = {**PROGRESS, "numInputRows": 180, "inputRowsPerSecond": 60.0, "processedRowsPerSecond": 90.0}
    by = {(s.name, s.topic): s.value for s in metrics.batch_samples(reread, {"valid_rows": 117, "dead_letter_rows": 3}, 30000)}
    assert by[("InputRows", None)] == 120
    assert by[("InputRowsPerSecond", None)] == 40.0 and by[("ProcessedRowsPerSecond", None)] == 60.0
    # Without counts (a batch that wrote nothing) Spark's own figures stand.
    assert job_io.input_rows(180, {}) == (180, 1.0)


@pytest.mark.parametrize("text,ms", [("30 seconds", 30000), ("1 minute", 60000), ("500 milliseconds", 500), ("2 hours", 7200000)])
def test_trigger_interval_parsing(text, ms):
    assert metrics.interval_ms(text) == ms


def test_a_destination_that_cannot_start_is_reported_and_the_rest_still_runs(capsys):
    """A bad CloudWatch setup or a taken port must not stop the consumer: it reports and goes on without that part."""
    import argparse

    class Writer:
        def pop_counts(self, batch_id):
            return {}

    class NoJvm:
        @property
        def _jvm(self):
            raise RuntimeError("no JVM here")

    taken = socket.socket()
    taken.bind(("0.0.0.0", 0))
    taken.listen()
    try:
        args = argparse.Namespace(metrics_dimension=[("Consumer", "c1")], cloudwatch_namespace="NS", cloudwatch_region="us-east-1",
                                  cloudwatch_endpoint=None, prometheus_port=taken.getsockname()[1], consumer_group=None,
                                  available_now=False, trigger_interval="30 seconds")
        listener = metrics.build_listener(NoJvm(), args, Writer(), {})
    finally:
        taken.close()
    assert listener.destinations == [] and listener.committer is None and listener.trigger_ms == 30000
    parts = [json.loads(line)["part"] for line in capsys.readouterr().out.splitlines() if '"observability_unavailable"' in line]
    assert parts == ["cloudwatch", "prometheus"]
