"""Stopping: SIGTERM lets the running batch commit and exits 0; past the grace period the stop aborts the batch
(exit 4), and the next start runs it again. Each run signals the Python driver only, as the image's entrypoint
does (the JVM is its child and must not see the signal)."""
from __future__ import annotations

import json
import signal

from helpers import (
    FAULTY,
    assert_each_offset_once_in_listing,
    fault_env,
    job_args,
    list_keys,
    produce,
    read_topic,
    start_job,
    stray_keys,
    wait_until,
)
from test_end_to_end import new_topic
from test_recovery import interleaved


def committed_offsets(run, topic: str, batch: int) -> set[tuple[int, int]]:
    """The Kafka offsets of batches 0..batch, from the end offsets the job logged for `batch`."""
    [progress] = [e for e in run.events() if e["event"] == "batch_progress" and e["batch_id"] == batch]
    ends = json.loads(progress["end_offsets"][0])[topic]
    return {(int(p), o) for p, end in ends.items() for o in range(end)}


def test_sigterm_mid_batch_lets_the_batch_commit_then_exits_0_with_no_stray_file(spark, kafka, s3, prefix, tmp_path):
    topic = new_topic(spark, kafka, partitions=2)
    values, _ = interleaved(0, 120, "t")
    produce(spark, kafka.bootstrap, topic, values, partitions=2)
    marker = tmp_path / "output-write-stalled"
    # Batch 1's output write takes a few seconds (one task waits); SIGTERM arrives in the middle of it.
    stall = {"sink": "output", "batch": 1, "partition": 1, "seconds": 8, "marker": str(marker)}
    args = job_args(kafka.bootstrap, topic, prefix, s3, "--trigger-interval", "1 second", "--max-offsets-per-trigger", "20")
    run = start_job(args, tmp_path / "job.log", cmd=FAULTY, env=fault_env({"stall_write": stall}))
    wait_until(lambda: marker.exists() or run.proc.poll() is not None, 240, "batch 1's output write to stall")
    run.proc.send_signal(signal.SIGTERM)
    assert run.wait(120) == 0, run.log_tail()

    events = [e["event"] for e in run.events()]
    assert "stop_requested" in events and "stopped" in events, run.log_tail()
    assert "stop_aborted" not in events
    batches = [e["batch_id"] for e in run.events() if e["event"] == "batch_progress"]
    assert batches[-1] == 1, f"the batch that was running commits, and no other starts: {batches}"
    # Committed in the checkpoint, and every offset it covered is in the output or the dead letter, once,
    # as a plain S3 listing shows it; no file that the sink logs do not list.
    assert any(k.endswith("/commits/1") for k in list_keys(s3, f"{prefix}/checkpoints/{topic}"))
    assert stray_keys(s3, f"{prefix}/data/{topic}") == [] and stray_keys(s3, f"{prefix}/dead-letter/{topic}") == []
    assert_each_offset_once_in_listing(s3, prefix, topic, committed_offsets(run, topic, 1))


def test_a_batch_that_outlasts_the_grace_period_is_aborted_and_runs_again_at_the_next_start(
    spark, kafka, s3, prefix, tmp_path
):
    topic = new_topic(spark, kafka, partitions=2)
    values, _ = interleaved(0, 80, "g")
    produce(spark, kafka.bootstrap, topic, values, partitions=2)
    marker = tmp_path / "stalled-for-good"
    stall = {"sink": "dead-letter", "batch": 0, "partition": 0, "seconds": 600, "marker": str(marker)}
    args = job_args(kafka.bootstrap, topic, prefix, s3, "--available-now", "--max-offsets-per-trigger", "40")
    run = start_job(args + ["--stop-grace-period", "3"], tmp_path / "job.log", cmd=FAULTY, env=fault_env({"stall_write": stall}))
    wait_until(lambda: marker.exists() or run.proc.poll() is not None, 240, "batch 0's dead-letter write to stall")
    run.proc.send_signal(signal.SIGTERM)
    assert run.wait(120) == 4, run.log_tail()
    aborted = [e for e in run.events() if e["event"] == "stop_aborted"]
    assert aborted and "grace period of 3s expired" in aborted[0]["reason"]
    assert not [e for e in run.events() if e["event"] == "batch_progress" and e["rows_in"]], "no batch may commit"

    # Safe thanks to the checkpoint: the next start runs the aborted batch (and the rest), each offset once.
    rerun = start_job(args, tmp_path / "rerun.log")
    assert rerun.wait(240) == 0, rerun.log_tail()
    assert stray_keys(s3, f"{prefix}/data/{topic}") == [] and stray_keys(s3, f"{prefix}/dead-letter/{topic}") == []
    assert_each_offset_once_in_listing(s3, prefix, topic, set(read_topic(spark, kafka.bootstrap, topic)))
