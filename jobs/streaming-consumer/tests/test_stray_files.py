"""The stray-file cleaning removes only files this sink wrote and its log does not list; it never touches anything
else in its locations or beside them. In-process against moto S3: the sinks write real batches, the test plants
real strays (files of a batch the log never recorded) and other writers' files, then runs the cleaning."""
from __future__ import annotations

import json
import uuid

from helpers import list_keys, stray_keys, valid_event
from streaming_consumer import io, transforms
from streaming_consumer.main import sink_locations
from streaming_consumer.schemas import EVENT_SCHEMA, PARTITION_COLUMNS
from test_transforms import kafka_frame


def _key(s3, uri: str) -> str:
    return uri.split(f"{s3.bucket}/", 1)[1]


def _write_batch(spark, output: str, dead_letter: str, batch_id: int, tag: str) -> None:
    values = [json.dumps({**valid_event(batch_id), "event_id": f"{tag}-{batch_id}"}), f"not json {tag}"]
    classified = transforms.classify(kafka_frame(spark, values), EVENT_SCHEMA)
    io.FileSink(spark, output, PARTITION_COLUMNS).add_batch(batch_id, transforms.valid_rows(classified, EVENT_SCHEMA))
    io.FileSink(spark, dead_letter, ()).add_batch(batch_id, transforms.dead_letter_rows(classified))


def _copy(s3, src_key: str, dst_key: str) -> str:
    s3.client.copy_object(Bucket=s3.bucket, Key=dst_key, CopySource={"Bucket": s3.bucket, "Key": src_key})
    return dst_key


def _parquet_under(s3, uri: str) -> list[str]:
    return sorted(k for k in list_keys(s3, uri) if k.endswith(".parquet") and "/_spark_metadata/" not in k)


def test_only_this_sinks_unlisted_files_are_removed_and_everything_else_is_left_alone(spark, s3, prefix):
    output, dead_letter, checkpoint = f"{prefix}/data/t", f"{prefix}/dead-letter/t", f"{prefix}/checkpoints/t"
    s3.client.put_object(Bucket=s3.bucket, Key=_key(s3, f"{checkpoint}/metadata"), Body=b'{"id":"x"}\n')
    _write_batch(spark, output, dead_letter, 0, "committed")
    logged = set(_parquet_under(s3, output)) | set(_parquet_under(s3, dead_letter))
    assert logged and stray_keys(s3, output) == [] and stray_keys(s3, dead_letter) == []

    # Strays: batch 1 of the same sinks, written elsewhere and moved in as a killed attempt leaves them (the
    # files are there, the log never recorded the batch).
    scratch = f"{prefix}/scratch-{uuid.uuid4().hex[:6]}"
    _write_batch(spark, f"{scratch}/data", f"{scratch}/dead", 1, "killed")
    strays = [
        _copy(s3, k, _key(s3, output) + k.split("/data", 1)[1]) for k in _parquet_under(s3, f"{scratch}/data")
    ] + [_copy(s3, k, _key(s3, dead_letter) + k.split("/dead", 1)[1]) for k in _parquet_under(s3, f"{scratch}/dead")]
    assert len(strays) == 2

    # Other writers' files: a Spark part file with other columns, this sink's columns under a name Spark's sink
    # does not use, hidden files, a file that is not Parquet under a part-file name, and this sink's columns in a
    # sibling prefix that merely starts with the same characters.
    other = f"{prefix}/other-{uuid.uuid4().hex[:6]}"
    spark.range(3).write.parquet(other)
    [other_part] = _parquet_under(s3, other)
    some_stray = strays[0]
    part_name = "part-00000-" + str(uuid.uuid4()) + "-c000.snappy.parquet"
    foreign = [
        _copy(s3, other_part, _key(s3, output) + "/year=2024/month=05/day=01/hour=10/" + other_part.rsplit("/", 1)[1]),
        _copy(s3, some_stray, _key(s3, output) + "/year=2024/month=05/day=01/hour=10/backfill-2024.parquet"),
        _copy(s3, some_stray, _key(s3, output) + "/year=2024/month=05/day=01/hour=10/._" + part_name),
        _copy(s3, some_stray, _key(s3, output) + "-other/year=2024/month=05/day=01/hour=10/" + part_name),
        _copy(s3, other_part, _key(s3, dead_letter) + "/" + other_part.rsplit("/", 1)[1]),
    ]
    s3.client.put_object(Bucket=s3.bucket, Key=_key(s3, dead_letter) + "/" + part_name, Body=b"not parquet at all")
    s3.client.put_object(Bucket=s3.bucket, Key=_key(s3, output) + "/_SUCCESS", Body=b"")
    s3.client.put_object(Bucket=s3.bucket, Key=_key(s3, output) + "/README.txt", Body=b"owned by the data team")
    foreign += [_key(s3, dead_letter) + "/" + part_name, _key(s3, output) + "/_SUCCESS", _key(s3, output) + "/README.txt"]
    everything_before = set(list_keys(s3, prefix))

    removed = io.remove_stray_files(spark, sink_locations(output, dead_letter, EVENT_SCHEMA), checkpoint)

    assert removed == {"output": 1, "dead-letter": 1}
    after = set(list_keys(s3, prefix))
    assert everything_before - after == set(strays)
    assert set(foreign) <= after and logged <= after
    # Spark's view (through the logs) is unchanged: batch 0 only.
    assert sorted(r.event_id for r in spark.read.parquet(output).collect()) == ["committed-0"]


def test_a_location_without_a_sink_log_or_a_query_without_a_checkpoint_is_never_cleaned(spark, s3, prefix):
    output, dead_letter, checkpoint = f"{prefix}/data/t", f"{prefix}/dead-letter/t", f"{prefix}/checkpoints/t"
    scratch = f"{prefix}/scratch"
    _write_batch(spark, f"{scratch}/data", f"{scratch}/dead", 0, "x")
    [part] = _parquet_under(s3, f"{scratch}/dead")
    planted = _copy(s3, part, _key(s3, dead_letter) + "/" + part.rsplit("/", 1)[1])
    locations = sink_locations(output, dead_letter, EVENT_SCHEMA)
    # No _spark_metadata in the dead-letter location: not (yet) this sink's.
    assert io.stray_files(spark, locations["dead-letter"], checkpoint) == []
    # A log, but no checkpoint to date the query by.
    _write_batch(spark, output, dead_letter, 0, "y")
    assert io.stray_files(spark, locations["dead-letter"], checkpoint) == []
    assert planted in list_keys(s3, dead_letter)
