"""Crash and restart: SIGKILL mid-write (twice) and a broker restart; nothing lost, nothing twice, no stray file.

Read back twice: through Spark (which uses the sink logs) and with pyarrow from a plain S3 listing (as Athena,
Glue or any non-Spark reader does), which sees every file, including those of killed attempts.
"""
from __future__ import annotations

import json
import os
import random
import signal
import time

from helpers import (
    FAULTY,
    assert_each_offset_once_in_listing,
    data_keys,
    fault_env,
    invalid_values,
    job_args,
    produce,
    read_topic,
    start_job,
    stray_keys,
    valid_event,
    wait_until,
)
from test_end_to_end import assert_exactly_once, new_topic


def batches_done(run) -> int:
    return len([e for e in run.events() if e["event"] == "batch_progress" and e["rows_in"] > 0])


def interleaved(start: int, n: int, tag: str) -> tuple[list[str], dict[str, str]]:
    """n records, every fifth one invalid (a different kind each time); produced round-robin over two
    partitions, every batch has rows for both sinks in both Kafka partitions."""
    values, invalid = [], {}
    for i in range(start, start + n):
        if i % 5 == 2:
            raw, phrase = invalid_values(f"{tag}-{i}")[(i // 5) % 7]
            values.append(raw)
            invalid[raw] = phrase
        else:
            values.append(json.dumps(valid_event(i)))
    return values, invalid


def test_job_killed_mid_write_twice_and_broker_restarted_writes_every_record_once_and_leaves_no_stray_file(
    spark, kafka, s3, prefix, tmp_path
):
    seed = int(os.environ.get("RECOVERY_SEED", time.time()))
    rnd = random.Random(seed)
    print(f"RECOVERY_SEED={seed}")
    topic = new_topic(spark, kafka, partitions=2)
    dead_letter = f"{prefix}/dead-letter/{topic}"
    values, invalid = interleaved(0, 200, "p1")
    produce(spark, kafka.bootstrap, topic, values, partitions=2)
    # Small batches on a short trigger, so a kill lands mid-stream with most of the topic still unread.
    args = job_args(kafka.bootstrap, topic, prefix, s3, "--trigger-interval", "1 second", "--max-offsets-per-trigger", "25")

    # Kill 1, deterministic, at the worst point: batch 1 is committed in the output sink's log, and half written
    # to the dead letter (one task's file is in S3, the other task is still writing), not in its log, not
    # committed in the checkpoint. The restart must skip it in one sink, write it in the other, and remove
    # the half-written file.
    marker = tmp_path / "dead-letter-write-stalled"
    stall = {"sink": "dead-letter", "batch": 1, "partition": 1, "seconds": 600, "marker": str(marker)}
    run = start_job(args, tmp_path / "run0.log", cmd=FAULTY, env=fault_env({"stall_write": stall}))
    wait_until(lambda: marker.exists() or run.proc.poll() is not None, 240, "batch 1's dead-letter write to stall")
    assert run.proc.poll() is None, run.log_tail()
    wait_until(lambda: stray_keys(s3, dead_letter), 120, "a file of batch 1 in the dead letter that its log does not list")
    run.kill()
    strays_before = stray_keys(s3, dead_letter)
    print(f"stray files after the kill (what a listing shows, the log does not): {len(strays_before)}")
    assert strays_before

    # Kill 2, anywhere inside a batch: planning, writing either sink, committing, or cleaning.
    run = start_job(args, tmp_path / "run1.log")
    wait_until(lambda: batches_done(run) >= 1 or run.proc.poll() is not None, 240, "the restart's first batch")
    assert run.proc.poll() is None, run.log_tail()
    # After the restart's first committed batch: not one file the logs do not list, in either location.
    assert stray_keys(s3, dead_letter) == [] and stray_keys(s3, f"{prefix}/data/{topic}") == []
    removed = [e for e in run.events() if e["event"] == "stray_files_removed" and e["count"]]
    assert [e["files"] for e in removed] == [[f"s3a://{s3.bucket}/{k}" for k in strays_before]]
    wait_until(lambda: batches_done(run) >= 2 or run.proc.poll() is not None, 240, "two batches in run 1")
    assert run.proc.poll() is None, run.log_tail()
    time.sleep(rnd.uniform(0.0, 2.5))
    run.kill()

    run = start_job(args, tmp_path / "run-final.log")
    wait_until(lambda: batches_done(run) >= 1, 240, "a batch after the second restart")
    more, inv = interleaved(1000, 40, "p2")
    invalid.update(inv)
    produce(spark, kafka.bootstrap, topic, more, partitions=2)

    kafka.stop()
    time.sleep(3)
    kafka.start()
    more, inv = interleaved(2000, 40, "p3")
    invalid.update(inv)
    produce(spark, kafka.bootstrap, topic, more, partitions=2)

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
    assert (n_out, n_dead) == (len(truth) - len(invalid), len(invalid))
    assert stray_keys(s3, dead_letter) == [] and stray_keys(s3, f"{prefix}/data/{topic}") == []
    assert_each_offset_once_in_listing(s3, prefix, topic, set(truth))
    assert data_keys(s3, dead_letter)
