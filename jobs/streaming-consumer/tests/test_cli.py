"""Command line: flags, usage errors that name the flag, Kafka auth options, schema files."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from streaming_consumer import io as job_io
from streaming_consumer.main import parse_args, uses_s3a
from streaming_consumer.schemas import EVENT_SCHEMA, SchemaError, load_schema

BASE = [
    "--bootstrap-servers", "b-1.example:9098,b-2.example:9098",
    "--topic", "events",
    "--output", "s3a://lake/data/events",
    "--dead-letter", "s3a://lake/dead-letter/events",
    "--checkpoint", "s3a://lake/checkpoints/consumer",
]


def usage_error(capsys, argv) -> str:
    with pytest.raises(SystemExit) as exc:
        parse_args(argv)
    assert exc.value.code == 2
    return capsys.readouterr().err


def test_defaults():
    args = parse_args(BASE)
    assert (args.trigger_interval, args.available_now, args.starting_offsets, args.kafka_auth) == (
        "30 seconds", False, "earliest", "none"
    )
    assert args.max_offsets_per_trigger == 500_000 and args.conf == [] and args.record_schema == EVENT_SCHEMA
    assert args.stop_grace_period == 120


def test_the_batch_defaults_are_the_stacks():
    """A consumer started by hand (or by the benchmark) batches like one the stack deploys."""
    consumer_ts = (Path(__file__).resolve().parents[3] / "components" / "config" / "consumer.ts").read_text()
    stack_max = re.search(r"maxOffsetsPerTrigger: z\.number\(\)[^\n]*\.default\((\d+)\)", consumer_ts)
    stack_trigger = re.search(r'triggerInterval: triggerInterval\.default\("([^"]+)"\)', consumer_ts)
    assert stack_max and stack_trigger, "components/config/consumer.ts no longer declares the defaults this test reads"
    args = parse_args(BASE)
    assert args.max_offsets_per_trigger == int(stack_max.group(1))
    assert args.trigger_interval == stack_trigger.group(1)


def test_all_flags_parse():
    args = parse_args(BASE + [
        "--available-now", "--max-offsets-per-trigger", "5000", "--starting-offsets", "latest",
        "--kafka-auth", "iam", "--conf", "spark.hadoop.fs.s3a.endpoint=http://x:1", "--conf", "a.b=c=d",
        "--ensure-topics", '[{"name": "events", "partitions": 3, "replicationFactor": 2, "retentionMs": 86400000}]',
    ])
    assert args.available_now and args.max_offsets_per_trigger == 5000 and args.starting_offsets == "latest"
    assert args.conf == [("spark.hadoop.fs.s3a.endpoint", "http://x:1"), ("a.b", "c=d")]
    assert args.ensure_topics == [job_io.TopicSpec("events", 3, 2, 86400000)]


@pytest.mark.parametrize(
    "extra, flag",
    [
        (["--max-offsets-per-trigger", "0"], "--max-offsets-per-trigger"),
        (["--max-offsets-per-trigger", "many"], "--max-offsets-per-trigger"),
        (["--trigger-interval", "soon"], "--trigger-interval"),
        (["--trigger-interval", "5 seconds", "--available-now"], "--available-now"),
        (["--starting-offsets", "middle"], "--starting-offsets"),
        (["--kafka-auth", "scram"], "--kafka-auth"),
        (["--conf", "novalue"], "--conf"),
        (["--ensure-topics", "[{\"partitions\": 3}]"], "--ensure-topics"),
        (["--ensure-topics", "{}"], "--ensure-topics"),
        (["--ensure-topics", '[{"name": "t", "replicationFactor": 3}]'], "--ensure-topics"),
        (["--schema", "/does/not/exist.json"], "--schema"),
        (["--stop-grace-period", "0"], "--stop-grace-period"),
        (["--stop-grace-period", "soon"], "--stop-grace-period"),
        (["--stop-grace-period", "86401"], "--stop-grace-period"),
        (["--bogus"], "--bogus"),
    ],
)
def test_bad_flags_give_a_usage_error_naming_the_flag(capsys, extra, flag):
    assert flag in usage_error(capsys, BASE + extra)


def test_missing_required_flag_is_named(capsys):
    assert "--checkpoint" in usage_error(capsys, BASE[:-2])


def test_bad_bootstrap_servers_are_refused(capsys):
    argv = list(BASE)
    argv[1] = "broker-without-port"
    assert "--bootstrap-servers" in usage_error(capsys, argv)


def test_checkpoint_inside_output_is_refused(capsys):
    argv = list(BASE)
    argv[argv.index("--checkpoint") + 1] = "s3a://lake/data/events/_checkpoint"
    err = usage_error(capsys, argv)
    assert "--output" in err and "--checkpoint" in err


def test_iam_auth_sets_the_msk_iam_options_on_the_kafka_source():
    opts = job_io.kafka_source_options("b:9098", "events", "iam", "earliest", 100)
    assert opts == {
        "kafka.bootstrap.servers": "b:9098",
        "kafka.security.protocol": "SASL_SSL",
        "kafka.sasl.mechanism": "AWS_MSK_IAM",
        "kafka.sasl.jaas.config": "software.amazon.msk.auth.iam.IAMLoginModule required;",
        "kafka.sasl.client.callback.handler.class": "software.amazon.msk.auth.iam.IAMClientCallbackHandler",
        "subscribe": "events",
        "startingOffsets": "earliest",
        "failOnDataLoss": "true",
        "maxOffsetsPerTrigger": "100",
    }


def test_no_auth_sets_no_security_options():
    opts = job_io.kafka_source_options("b:9092", "events", "none", "latest", None)
    assert not any("sasl" in k or "security" in k for k in opts)
    assert opts["failOnDataLoss"] == "true" and "maxOffsetsPerTrigger" not in opts


def test_schema_file_replaces_the_default(tmp_path):
    custom = json.loads(EVENT_SCHEMA.json())
    custom["fields"].append({"name": "count", "type": "long", "nullable": False, "metadata": {}})
    path = tmp_path / "schema.json"
    path.write_text(json.dumps(custom))
    args = parse_args(BASE + ["--schema", str(path)])
    assert [f.name for f in args.record_schema.fields][-1] == "count"
    assert args.record_schema["count"].nullable is False


@pytest.mark.parametrize(
    "content, phrase",
    [
        ("not json", "not valid JSON"),
        ('{"type": "struct"}', "not a Spark JSON schema"),
        ('{"type": "struct", "fields": [{"name": "a", "type": "string", "nullable": true, "metadata": {}}]}',
         "needs a field 'event_time' of type timestamp"),
        ('{"type": "struct", "fields": [{"name": "event_time", "type": "timestamp", "nullable": false, "metadata": {}},'
         ' {"name": "kafka_offset", "type": "long", "nullable": true, "metadata": {}}]}', "reserved"),
        ('{"type": "struct", "fields": [{"name": "event_time", "type": "timestamp", "nullable": false, "metadata": {}},'
         ' {"name": "n", "type": {"type": "struct", "fields": []}, "nullable": true, "metadata": {}}]}', "supported top-level types"),
    ],
)
def test_unusable_schema_files_are_refused_with_the_reason(tmp_path, content, phrase):
    path = tmp_path / "schema.json"
    path.write_text(content)
    with pytest.raises(SchemaError, match=phrase):
        load_schema(path)


@pytest.mark.parametrize(
    ("uri", "confs", "expected"),
    [
        ("s3a://lake/checkpoints/c", {}, True),
        # The ec2 engine maps s3:// to S3A: the abortable checkpoint manager applies there too.
        ("s3://lake/checkpoints/c", {"spark.hadoop.fs.s3.impl": "org.apache.hadoop.fs.s3a.S3AFileSystem"}, True),
        # EMR's s3:// is EMRFS, which has no abortable streams: Spark's default manager must stay.
        ("s3://lake/checkpoints/c", {}, False),
        ("file:///tmp/checkpoints/c", {}, False),
    ],
)
def test_the_abortable_checkpoint_manager_is_only_for_s3a(uri, confs, expected):
    assert uses_s3a(uri, confs) is expected


def test_the_grace_period_is_a_flag():
    assert parse_args(BASE + ["--stop-grace-period", "900"]).stop_grace_period == 900


@pytest.mark.parametrize("conf", [
    "spark.sql.parquet.outputTimestampType=INT96",
    "spark.sql.parquet.datetimeRebaseModeInWrite=LEGACY",
    "spark.sql.parquet.int96RebaseModeInWrite=EXCEPTION",
    "spark.sql.ansi.enabled=true",
])
def test_settings_that_would_change_dates_or_fail_batches_are_refused(capsys, conf):
    err = usage_error(capsys, BASE + ["--conf", conf])
    assert "--conf" in err and conf.split("=")[0] in err and "pins it" in err


def test_the_pinned_settings_may_be_restated():
    assert parse_args(BASE + ["--conf", "spark.sql.parquet.outputTimestampType=timestamp_micros"]).conf


def test_the_stopper_aborts_on_a_second_signal_or_when_the_grace_period_is_over(monkeypatch):
    import signal

    from streaming_consumer.main import _Stopper

    clock = [100.0]
    monkeypatch.setattr("streaming_consumer.main.time.monotonic", lambda: clock[0])
    control = job_io.StopControl()
    stopper = _Stopper(30, control)
    assert not stopper.requested and not control.requested
    stopper(signal.SIGTERM, None)
    assert stopper.requested and control.requested and stopper.abort_reason() is None
    clock[0] += 30
    assert stopper.abort_reason() is None
    clock[0] += 1
    assert stopper.abort_reason() == "grace period of 30s expired"
    again = _Stopper(30, job_io.StopControl())
    again(signal.SIGTERM, None)
    again(signal.SIGINT, None)
    assert again.abort_reason() == "second signal"
