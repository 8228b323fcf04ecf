"""The demo producer (engine local): what it generates passes (or fails) the job's own validation as intended, and
the `producer` role sends it to a real broker once the topic exists."""
from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
import uuid
from datetime import datetime, timezone

import pytest

from demo_producer.__main__ import build_parser
from demo_producer.events import MALFORMED_KINDS, malformed_value, next_value, valid_event
from helpers import JOB_DIR, read_topic, wait_until
from streaming_consumer import io, transforms
from streaming_consumer.schemas import EVENT_SCHEMA
from test_transforms import kafka_frame

ENTRYPOINT = JOB_DIR / "entrypoint.sh"
NOW = datetime(2026, 3, 4, 5, 6, 7, 890000, tzinfo=timezone.utc)


def test_valid_events_all_pass_the_jobs_validation_with_their_event_time(spark):
    rng = random.Random(1)
    events = [valid_event(rng, NOW) for _ in range(50)]
    classified = transforms.classify(kafka_frame(spark, [json.dumps(e) for e in events]), EVENT_SCHEMA)
    assert transforms.dead_letter_rows(classified).count() == 0
    rows = transforms.valid_rows(classified, EVENT_SCHEMA).select("event_id", "year", "month", "day", "hour").collect()
    assert sorted(r.event_id for r in rows) == sorted(e["event_id"] for e in events)
    assert {(r.year, r.month, r.day, r.hour) for r in rows} == {("2026", "03", "04", "05")}


@pytest.mark.parametrize("kind", sorted(MALFORMED_KINDS))
def test_each_malformed_kind_lands_in_the_dead_letter(spark, kind):
    value = MALFORMED_KINDS[kind](random.Random(2), NOW)
    classified = transforms.classify(kafka_frame(spark, [value]), EVENT_SCHEMA)
    [dead] = transforms.dead_letter_rows(classified).collect()
    assert dead.raw_value == value and dead.error
    assert transforms.valid_rows(classified, EVENT_SCHEMA).count() == 0


def test_the_malformed_share_follows_the_setting():
    rng = random.Random(3)
    flags = [next_value(rng, 10, NOW)[1] for _ in range(5000)]
    assert 0.08 < sum(flags) / len(flags) < 0.12
    assert not any(next_value(rng, 0, NOW)[1] for _ in range(500))
    assert all(next_value(rng, 100, NOW)[1] for _ in range(500))
    assert malformed_value(random.Random(4), NOW) != json.dumps(valid_event(random.Random(4), NOW))


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--events-per-second", "0"], "must be greater than 0"),
        (["--malformed-percent", "101"], "between 0 and 100"),
        (["--events-per-second", "fast"], "must be a number"),
    ],
)
def test_bad_flags_name_the_flag(capsys, flags, message):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--bootstrap-servers", "k:9092", "--topic", "t", *flags])
    assert message in capsys.readouterr().err


def test_producer_role_waits_for_the_topic_then_sends_at_the_rate_asked(spark, kafka, tmp_path):
    topic = f"demo-{uuid.uuid4().hex[:6]}"
    # The role runs no Spark; the entrypoint only checks that SPARK_HOME looks like one.
    fake_home = tmp_path / "spark"
    (fake_home / "bin").mkdir(parents=True)
    (fake_home / "jars").mkdir()
    (fake_home / "bin" / "spark-class").write_text("#!/bin/sh\nexit 99\n")
    (fake_home / "bin" / "spark-class").chmod(0o755)
    env = {"PATH": os.environ["PATH"], "SPARK_HOME": str(fake_home), "PYSPARK_PYTHON": sys.executable, "PYTHONUNBUFFERED": "1"}
    log = tmp_path / "producer.log"
    proc = subprocess.Popen(
        ["bash", str(ENTRYPOINT), "producer", "--bootstrap-servers", kafka.bootstrap, "--topic", topic,
         "--events-per-second", "50", "--malformed-percent", "20", "--max-events", "60", "--report-seconds", "0.5",
         "--seed", "7"],
        env=env, stdout=open(log, "wb"), stderr=subprocess.STDOUT,
    )
    try:
        wait_until(lambda: "waiting_for_topic" in log.read_text(), 60, "the producer to wait for the missing topic")
        io.ensure_topics(spark, {"bootstrap.servers": kafka.bootstrap}, [io.TopicSpec(topic, 2, 1)])
        started = time.monotonic()
        assert proc.wait(timeout=120) == 0, log.read_text()
        elapsed = time.monotonic() - started
    finally:
        if proc.poll() is None:
            proc.kill()
    records = read_topic(spark, kafka.bootstrap, topic)
    assert len(records) == 60
    malformed = [v for v in records.values() if not _is_valid(v)]
    assert 3 <= len(malformed) <= 25
    # 60 events at 50/s: a little over a second of sending, not a burst and not a crawl.
    assert 1.0 < elapsed < 60, elapsed
    events = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    assert events[-1]["event"] == "stopped" and events[-1]["sent"] == 60


def _is_valid(value: str) -> bool:
    try:
        event = json.loads(value)
    except json.JSONDecodeError:
        return False
    return isinstance(event, dict) and isinstance(event.get("amount"), float) and event.get("event_time", "").endswith("Z")
