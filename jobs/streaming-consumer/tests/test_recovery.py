"""Crash and restart: SIGKILL of the job mid-stream (twice) and a broker restart; nothing lost, nothing twice."""
from __future__ import annotations

import json
import os
import random
import signal
import time

from helpers import job_args, produce, python_env, read_topic, start_job, wait_until
from test_end_to_end import assert_exactly_once, mixed_values, new_topic


def batches_done(run) -> int:
    return len([e for e in run.events() if e["event"] == "batch_progress" and e["rows_in"] > 0])


def test_job_killed_twice_and_broker_restarted_mid_stream_writes_every_record_exactly_once(
    spark, kafka, s3, prefix, tmp_path
):
    seed = int(os.environ.get("RECOVERY_SEED", time.time()))
    rnd = random.Random(seed)
    print(f"RECOVERY_SEED={seed}")
    topic = new_topic(spark, kafka, partitions=2)
    invalid = {}
    values, inv = mixed_values(0, 140, "p1")
    invalid.update(inv)
    produce(spark, kafka.bootstrap, topic, values, partitions=2)
    # Small batches on a short trigger, so a kill lands mid-stream with most of the topic still unread.
    args = job_args(kafka.bootstrap, topic, prefix, s3, "--trigger-interval", "1 second", "--max-offsets-per-trigger", "25")

    runs = []
    # Kill 1, deterministic: batch 1 is in the output sink's log but not the dead letter's, and not
    # committed in the checkpoint. The restart must skip it in one sink and write it in the other.
    env = python_env() | {"STREAMING_CONSUMER_FAULT": "kill-after-output:1"}
    run = start_job(args, tmp_path / "run0.log", env=env)
    runs.append(run)
    assert run.wait(240) == -signal.SIGKILL, run.log_tail()
    assert [e["batch_id"] for e in run.events() if e["event"] == "batch_progress"] == [0]

    # Kill 2, anywhere inside a batch: planning, writing either sink, or committing.
    run = start_job(args, tmp_path / "run1.log")
    runs.append(run)
    wait_until(lambda: batches_done(run) >= 2 or run.proc.poll() is not None, 240, "two batches in run 1")
    assert run.proc.poll() is None, run.log_tail()
    time.sleep(rnd.uniform(0.0, 2.5))
    run.kill()

    run = start_job(args, tmp_path / "run-final.log")
    runs.append(run)
    wait_until(lambda: batches_done(run) >= 1, 240, "a batch after the second restart")
    values, inv = mixed_values(1000, 30, "p2")
    invalid.update(inv)
    produce(spark, kafka.bootstrap, topic, values, partitions=2)

    kafka.stop()
    time.sleep(3)
    kafka.start()
    values, inv = mixed_values(2000, 30, "p3")
    invalid.update(inv)
    produce(spark, kafka.bootstrap, topic, values, partitions=2)

    truth = read_topic(spark, kafka.bootstrap, topic)
    end = {str(p): max(o for q, o in truth if q == p) + 1 for p, _ in truth}

    def caught_up():
        assert run.proc.poll() is None, f"job died across the broker restart:\n{run.log_tail()}"
        ends = [json.loads(e["end_offsets"][0]).get(topic) for e in run.events() if e["event"] == "batch_progress"]
        return end in ends

    wait_until(caught_up, 300, "the job to catch up with the topic")
    run.proc.send_signal(signal.SIGTERM)
    assert run.wait(120) == 0, run.log_tail()
    assert any(e["event"] == "stopped" for e in run.events()), "SIGTERM must stop the query cleanly"

    n_out, n_dead = assert_exactly_once(spark, kafka, prefix, topic, invalid)
    assert n_out == 200 and n_dead == len(invalid)
