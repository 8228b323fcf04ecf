"""The batch writer's bookkeeping on local folders: counts from Dataset.observe, an empty dead letter committed
without a Spark job, and a re-run batch that neither sink writes twice."""
from __future__ import annotations

import json

import pytest

from streaming_consumer import io as job_io
from streaming_consumer import transforms
from streaming_consumer.schemas import EVENT_SCHEMA
from test_transforms import ev, kafka_frame


def log_entry(location, batch_id: int) -> list[dict]:
    """The file-sink log entry of one batch: the files it lists (first line is the log's version)."""
    lines = (location / "_spark_metadata" / str(batch_id)).read_text().splitlines()
    assert lines[0] == "v1"
    return [json.loads(line) for line in lines[1:]]


def writer(spark, tmp_path):
    out, dead = tmp_path / "out", tmp_path / "dead"
    w = job_io.BatchWriter(
        job_io.FileSink(spark, f"file://{out}", ("year", "month", "day", "hour")),
        job_io.FileSink(spark, f"file://{dead}"),
        EVENT_SCHEMA,
    )
    return w, out, dead


def jobs_run(spark, action) -> int:
    tracker = spark.sparkContext.statusTracker()
    before = set(tracker.getJobIdsForGroup())
    action()
    return len(set(tracker.getJobIdsForGroup()) - before)


def test_a_batch_without_bad_records_commits_an_empty_dead_letter_without_a_spark_job(spark, tmp_path):
    w, out, dead = writer(spark, tmp_path)
    batch = kafka_frame(spark, [ev(event_id=f"e-{i}") for i in range(5)])
    w(batch, 0)
    assert w.pop_counts(0) == {"valid_rows": 5, "dead_letter_rows": 0}
    assert log_entry(dead, 0) == []  # committed, with no files: what a write of no rows leaves
    assert len(log_entry(out, 0)) >= 1
    assert spark.read.parquet(str(out)).count() == 5
    # The dead letter's commit ran no job: only the output's write (and its cache) did.
    assert jobs_run(spark, lambda: job_io.FileSink(spark, f"file://{tmp_path / 'other'}").commit_empty(0)) == 0


def test_counts_come_from_the_write_and_bad_records_reach_the_dead_letter(spark, tmp_path):
    w, out, dead = writer(spark, tmp_path)
    batch = kafka_frame(spark, [ev(event_id="a"), "not json", ev(event_id="b"), ev(event_time="soon")])
    w(batch, 0)
    assert w.pop_counts(0) == {"valid_rows": 2, "dead_letter_rows": 2}
    assert sorted(r.kafka_offset for r in spark.read.parquet(str(dead)).collect()) == [1, 3]
    assert sorted(r.event_id for r in spark.read.parquet(str(out)).collect()) == ["a", "b"]


def test_a_batch_both_sinks_have_is_not_written_again_and_is_still_counted(spark, tmp_path):
    w, out, dead = writer(spark, tmp_path)
    batch = kafka_frame(spark, [ev(event_id="a"), "not json"])
    w(batch, 0)
    w.pop_counts(0)
    # A restart re-runs batch 0 with new writers over the same locations (the checkpoint had not committed it).
    again, _, _ = writer(spark, tmp_path)
    again(batch, 0)
    assert again.pop_counts(0) == {"valid_rows": 1, "dead_letter_rows": 1}
    assert spark.read.parquet(str(out)).count() == 1 and spark.read.parquet(str(dead)).count() == 1
    assert not (out / "_spark_metadata" / "1").exists() and not (dead / "_spark_metadata" / "1").exists()


def test_an_empty_commit_refuses_a_batch_id_the_log_already_has(spark, tmp_path):
    sink = job_io.FileSink(spark, f"file://{tmp_path / 'dl'}")
    assert sink.commit_empty(0) is True
    assert sink.commit_empty(0) is False
    # A new sink object on the same location (a restart) reads the log, not its memory.
    assert job_io.FileSink(spark, f"file://{tmp_path / 'dl'}").commit_empty(0) is False
    assert job_io.FileSink(spark, f"file://{tmp_path / 'dl'}").commit_empty(1) is True


def test_counts_are_read_from_the_frame_the_sink_wrote_even_when_a_wrapper_derived_it(spark, tmp_path, monkeypatch):
    def derived(original):
        def wrapped(self, *args, **kwargs):  # as a test fault or a future hook would: a frame derived from df
            *before, df = args
            return original(self, *before, df.where(df["kafka_offset"] >= 0), **kwargs)
        return wrapped

    monkeypatch.setattr(job_io.FileSink, "add_batch", derived(job_io.FileSink.add_batch))
    monkeypatch.setattr(job_io.FileSink, "stage", derived(job_io.FileSink.stage))
    w, out, dead = writer(spark, tmp_path)
    w(kafka_frame(spark, [ev(event_id="a"), "not json"]), 0)
    assert w.pop_counts(0) == {"valid_rows": 1, "dead_letter_rows": 1}
    assert [r.kafka_offset for r in spark.read.parquet(str(dead)).collect()] == [1]


def test_an_observation_that_saw_no_rows_is_no_proof_and_the_batch_is_classified_whole(spark, tmp_path, monkeypatch):
    # All-zero counts are also what an observation that did not run reports: nothing is then taken on trust, the
    # staged files are dropped, and the whole batch is classified and written to both sinks.
    real = job_io._observed
    zeros = {"fast_rows": 0, "slow_rows": 0, "slow_keys": "[]"}
    monkeypatch.setattr(job_io, "_observed", lambda df, name: zeros if name == transforms.SLOW else real(df, name))
    w, out, dead = writer(spark, tmp_path)
    w(kafka_frame(spark, [ev(event_id="a"), "not json"]), 0)
    assert w.pop_counts(0) == {"valid_rows": 1, "dead_letter_rows": 1}
    assert [r.event_id for r in spark.read.parquet(str(out)).collect()] == ["a"]
    assert len(list(out.rglob("*.parquet"))) == len(log_entry(out, 0))  # the first pass's staged file is gone
    assert [r.kafka_offset for r in spark.read.parquet(str(dead)).collect()] == [1]


@pytest.fixture
def no_carry(monkeypatch):
    """Left-out rows too many to carry (a budget of 0 characters): the second pass reads them again from the source."""
    monkeypatch.setattr(transforms, "CARRY_CHARS", 0)
    transforms._watched_fast_steps.cache_clear()  # built once per process: build them again with the budget
    yield
    monkeypatch.undo()
    transforms._watched_fast_steps.cache_clear()


@pytest.mark.parametrize("carry", [True, False], ids=["carried", "read-again"])
def test_a_second_pass_that_misses_a_row_the_first_left_out_fails_the_batch_and_commits_nothing(spark, tmp_path, monkeypatch, carry, request):
    # E.g. the records were deleted from Kafka between the two reads: the batch fails rather than lose them.
    if carry:
        real = transforms.carried_rows
        monkeypatch.setattr(transforms, "carried_rows", lambda spark, text, keys: real(spark, text, keys).where("offset != 1"))
    else:
        request.getfixturevalue("no_carry")
        real = transforms.rows_at
        monkeypatch.setattr(transforms, "rows_at", lambda df, keys: real(df, keys[1:]))
    w, out, dead = writer(spark, tmp_path)
    how = "carried" if carry else "read again"
    with pytest.raises(RuntimeError, match=rf"2 rows left the fast path, but the second pass \({how}\) found 1"):
        w(kafka_frame(spark, [ev(event_id="a"), "not json", "{}"]), 0)
    assert not (out / "_spark_metadata" / "0").exists() and not (dead / "_spark_metadata" / "0").exists()


# Valid, but of a shape the fast path leaves to Python: a name with an escape (the JVM scan compares names as bytes).
ESCAPED_NAME = ev(event_id="s", extra=1).replace('"extra"', '"ext\\u0072a"')
MIXED = [ev(event_id="f"), ESCAPED_NAME, "not json", None, b'{"event_id": "\xff"}', ev(event_time="soon")]


def _sinks(spark, out, dead):
    rows = sorted((r.event_id, r.kafka_offset, r.kafka_timestamp) for r in spark.read.parquet(str(out)).collect())
    dead_rows = sorted((r.kafka_offset, r.raw_value, r.error, r.raw_bytes, r.kafka_timestamp, r.kafka_topic, r.kafka_partition)
                       for r in spark.read.parquet(str(dead)).collect())
    return rows, dead_rows


def test_left_out_rows_are_carried_not_read_again_and_give_what_reading_again_gives(spark, tmp_path, monkeypatch):
    reads = []
    real = transforms.rows_at
    monkeypatch.setattr(transforms, "rows_at", lambda df, keys: reads.append(keys) or real(df, keys))
    w, out, dead = writer(spark, tmp_path / "carried")
    w(kafka_frame(spark, MIXED), 0)
    assert reads == []  # the source was read once
    assert w.pop_counts(0) == {"valid_rows": 2, "dead_letter_rows": 4}
    carried = _sinks(spark, out, dead)
    assert [r[0] for r in carried[0]] == ["f", "s"] and [r[0] for r in carried[1]] == [2, 3, 4, 5]
    budget = transforms.CARRY_CHARS
    monkeypatch.setattr(transforms, "CARRY_CHARS", 0)
    transforms._watched_fast_steps.cache_clear()
    try:
        w2, out2, dead2 = writer(spark, tmp_path / "again")
        w2(kafka_frame(spark, MIXED), 0)
    finally:
        monkeypatch.setattr(transforms, "CARRY_CHARS", budget)
        transforms._watched_fast_steps.cache_clear()
    assert len(reads) == 1  # too many to carry: read again
    assert _sinks(spark, out2, dead2) == carried  # the same rows, errors, bytes and Kafka columns either way


def test_one_batch_is_one_commit_of_both_passes_files(spark, tmp_path):
    w, out, dead = writer(spark, tmp_path)
    # A record the fast path cannot decide is valid: the second pass writes it.
    w(kafka_frame(spark, [ev(event_id="f"), ESCAPED_NAME, "not json"]), 0)
    assert w.pop_counts(0) == {"valid_rows": 2, "dead_letter_rows": 1}
    files = log_entry(out, 0)
    assert {f["path"].rsplit("/", 1)[-1] for f in files} == {p.name for p in out.rglob("*.parquet")}
    assert sorted(r.event_id for r in spark.read.parquet(str(out)).collect()) == ["f", "s"]
    assert len(files) == 2  # one file per pass (one hour partition, one task each)


def test_python_runs_only_for_a_batch_with_records_the_fast_path_did_not_accept(spark, tmp_path, monkeypatch):
    calls = []
    real = transforms._slow_check
    monkeypatch.setattr(transforms, "_slow_check", lambda schema: calls.append(schema) or real(schema))
    w, out, dead = writer(spark, tmp_path)
    w(kafka_frame(spark, [ev(event_id=f"e-{i}") for i in range(3)]), 0)
    assert calls == []  # no slow branch in the plan: no Python worker starts for the usual batch
    assert w.pop_counts(0) == {"valid_rows": 3, "dead_letter_rows": 0}
    assert log_entry(dead, 0) == []
    # A valid record the fast path cannot decide (an object in a field the schema does not have) is checked by
    # Python and reaches the output in its own batch, beside a bad one that reaches the dead letter.
    w(kafka_frame(spark, [ev(event_id="f"), ESCAPED_NAME, "not json"]), 1)
    assert len(calls) == 1
    assert w.pop_counts(1) == {"valid_rows": 2, "dead_letter_rows": 1}
    assert sorted(r.event_id for r in spark.read.parquet(str(out)).collect()) == ["e-0", "e-1", "e-2", "f", "s"]
    assert [r.kafka_offset for r in spark.read.parquet(str(dead)).collect()] == [2]
