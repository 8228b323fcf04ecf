"""Transforms on small batch frames: valid rows, each kind of invalid record, partition columns, time zones."""
from __future__ import annotations

import datetime as dt
import json

import pytest
from pyspark.sql import functions as F
from pyspark.testing import assertDataFrameEqual

from streaming_consumer import transforms
from streaming_consumer.schemas import EVENT_SCHEMA

UTC = dt.timezone.utc
KAFKA_TS = dt.datetime(2024, 5, 1, 12, 0, 0)


def kafka_frame(spark, values, topic="events"):
    """A frame shaped like the Kafka source: value as binary plus topic/partition/offset/timestamp."""
    rows = [
        (None if v is None else bytearray(v.encode("utf-8")), topic, 0, i, KAFKA_TS) for i, v in enumerate(values)
    ]
    return spark.createDataFrame(rows, "value binary, topic string, partition int, offset long, timestamp timestamp")


def ev(**overrides):
    base = {"event_id": "e-1", "event_time": "2024-05-01T10:15:00Z", "type": "click"}
    base.update(overrides)
    return json.dumps({k: v for k, v in base.items() if v is not ...})


def errors_of(spark, values):
    classified = transforms.classify(kafka_frame(spark, values), EVENT_SCHEMA)
    return [r.error for r in transforms.dead_letter_rows(classified).orderBy("kafka_offset").collect()], classified


def test_valid_record_becomes_one_output_row_with_kafka_and_partition_columns(spark):
    value = ev(user_id="u-1", amount=12.5, attributes={"a": "b"})
    classified = transforms.classify(kafka_frame(spark, [value]), EVENT_SCHEMA)
    actual = transforms.valid_rows(classified, EVENT_SCHEMA)
    # Built independently of the transform: the instant, not a formatted string, is what must match.
    expected_time = dt.datetime(2024, 5, 1, 10, 15, tzinfo=UTC).astimezone().replace(tzinfo=None)
    expected = spark.createDataFrame(
        [("e-1", expected_time, "click", "u-1", 12.5, {"a": "b"}, "events", 0, 0, KAFKA_TS, "2024", "05", "01", "10")],
        "event_id string, event_time timestamp, type string, user_id string, amount double, "
        "attributes map<string,string>, kafka_topic string, kafka_partition int, kafka_offset long, "
        "kafka_timestamp timestamp, year string, month string, day string, hour string",
    )
    assertDataFrameEqual(actual, expected)
    assert actual.columns == transforms.output_columns(EVENT_SCHEMA)
    assert transforms.dead_letter_rows(classified).count() == 0


def test_optional_fields_may_be_absent_or_null_and_unknown_fields_are_ignored(spark):
    values = [ev(), ev(event_id="e-2", user_id=None, amount=None, attributes=None, extra={"x": 1})]
    classified = transforms.classify(kafka_frame(spark, values), EVENT_SCHEMA)
    actual = transforms.valid_rows(classified, EVENT_SCHEMA).select("event_id", "user_id", "amount", "attributes")
    expected = spark.createDataFrame(
        [("e-1", None, None, None), ("e-2", None, None, None)],
        "event_id string, user_id string, amount double, attributes map<string,string>",
    )
    assertDataFrameEqual(actual, expected)


def test_integer_amount_is_a_valid_double(spark):
    classified = transforms.classify(kafka_frame(spark, [ev(amount=3)]), EVENT_SCHEMA)
    assertDataFrameEqual(
        transforms.valid_rows(classified, EVENT_SCHEMA).select("amount"), spark.createDataFrame([(3.0,)], "amount double")
    )


INVALID_CASES = [
        ("hello", "value is not valid JSON: hello"),
        ("", "value is not valid JSON: "),
        ('{"event_id": "e-1", ', 'value is not valid JSON: {"event_id": "e-1", '),
        ("[1, 2]", "value is a JSON array, not a JSON object"),
        ('"just a string"', "value is a JSON string, not a JSON object"),
        ("42", "value is a JSON number, not a JSON object"),
        ("null", "value is a JSON null, not a JSON object"),
        (None, "record has no value (null, e.g. a tombstone); expected a JSON object"),
        (ev(event_id=...), "required field 'event_id' is missing or null"),
        (ev(type=None), "required field 'type' is missing or null"),
        (
            ev(event_id=..., type=...),
            "required field 'event_id' is missing or null; required field 'type' is missing or null",
        ),
        (ev(event_time=...), "required field 'event_time' is missing or null"),
        (ev(amount="12.5"), "field 'amount' must be double, got: 12.5"),
        (ev(amount="NaN"), "field 'amount' must be double, got: NaN"),
        (ev(amount=True), "field 'amount' must be double, got: true"),
        (ev(attributes="a=b"), "field 'attributes' must be map<string,string>, got: a=b"),
        (ev(event_id=42), "field 'event_id' must be a string, got a JSON number: 42"),
        (ev(user_id=False), "field 'user_id' must be a string, got a JSON boolean: false"),
        (ev(type={"k": 1}), 'field \'type\' must be a string, got a JSON object: {"k":1}'),
        (ev(type=["a"]), 'field \'type\' must be a string, got a JSON array: ["a"]'),
        (ev(event_time="yesterday"), "field 'event_time' must be an ISO-8601 timestamp like 2024-05-01T12:00:00Z, got: yesterday"),
        (ev(event_time="2024-02-30T00:00:00Z"), "field 'event_time' must be an ISO-8601 timestamp like 2024-05-01T12:00:00Z, got: 2024-02-30T00:00:00Z"),
        (ev(event_time="2024-05-01"), "field 'event_time' must be an ISO-8601 timestamp like 2024-05-01T12:00:00Z, got: 2024-05-01"),
        (ev(event_time=1714557600), "field 'event_time' must be an ISO-8601 timestamp like 2024-05-01T12:00:00Z, got: 1714557600"),
    ]


def test_each_kind_of_invalid_record_goes_to_dead_letter_with_an_actionable_reason(spark):
    # One frame for all cases (one Spark job, not one per case); rows are matched by offset.
    values = [v for v, _ in INVALID_CASES]
    classified = transforms.classify(kafka_frame(spark, values), EVENT_SCHEMA)
    expected = spark.createDataFrame(
        [(v, e, "events", 0, i, KAFKA_TS) for i, (v, e) in enumerate(INVALID_CASES)],
        "raw_value string, error string, kafka_topic string, kafka_partition int, kafka_offset long, kafka_timestamp timestamp",
    )
    assertDataFrameEqual(transforms.dead_letter_rows(classified), expected)
    assert transforms.valid_rows(classified, EVENT_SCHEMA).count() == 0


def test_strings_that_look_like_json_literals_are_still_valid_strings(spark):
    values = [ev(event_id="42"), ev(event_id="true", user_id="{not an object"), ev(event_id="[x]", type="NaN")]
    classified = transforms.classify(kafka_frame(spark, values), EVENT_SCHEMA)
    assertDataFrameEqual(
        transforms.valid_rows(classified, EVENT_SCHEMA).select("event_id", "user_id", "type"),
        spark.createDataFrame([("42", None, "click"), ("true", "{not an object", "click"), ("[x]", None, "NaN")],
                              "event_id string, user_id string, type string"),
    )


def test_every_input_row_is_either_valid_or_dead_letter_never_both(spark):
    values = [ev(event_id=f"e-{i}") if i % 3 else f"junk-{i}" for i in range(30)]
    classified = transforms.classify(kafka_frame(spark, values), EVENT_SCHEMA)
    valid = transforms.valid_rows(classified, EVENT_SCHEMA).select("kafka_offset")
    dead = transforms.dead_letter_rows(classified).select("kafka_offset")
    assert valid.count() == 20 and dead.count() == 10
    assertDataFrameEqual(valid.union(dead), spark.range(30).select(F.col("id").alias("kafka_offset")))


TIME_CASES = [
        ("2023-12-31T23:59:59.999999Z", ("2023", "12", "31", "23"), dt.datetime(2023, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)),
        ("2024-01-01T00:30:00+01:00", ("2023", "12", "31", "23"), dt.datetime(2023, 12, 31, 23, 30, tzinfo=UTC)),
        ("2024-03-10T23:30:00-08:00", ("2024", "03", "11", "07"), dt.datetime(2024, 3, 11, 7, 30, tzinfo=UTC)),
        ("2024-02-29T00:00:00Z", ("2024", "02", "29", "00"), dt.datetime(2024, 2, 29, tzinfo=UTC)),
        ("2024-05-01 10:15:00", ("2024", "05", "01", "10"), dt.datetime(2024, 5, 1, 10, 15, tzinfo=UTC)),
        ("2024-05-01T10:15Z", ("2024", "05", "01", "10"), dt.datetime(2024, 5, 1, 10, 15, tzinfo=UTC)),
        ("2024-05-01T10:15:00.123456789+0530", ("2024", "05", "01", "04"), dt.datetime(2024, 5, 1, 4, 45, 0, 123456, tzinfo=UTC)),
        ("1969-12-31T23:00:00Z", ("1969", "12", "31", "23"), dt.datetime(1969, 12, 31, 23, tzinfo=UTC)),
    ]


@pytest.mark.parametrize("session_tz", ["UTC", "America/Los_Angeles", "Pacific/Kiritimati"])
def test_partitions_and_timestamps_come_from_event_time_in_utc_whatever_the_session_zone(spark, session_tz):
    old = spark.conf.get("spark.sql.session.timeZone")
    spark.conf.set("spark.sql.session.timeZone", session_tz)
    try:
        values = [ev(event_id=f"e-{i}", event_time=t) for i, (t, _, _) in enumerate(TIME_CASES)]
        classified = transforms.classify(kafka_frame(spark, values), EVENT_SCHEMA)
        actual = transforms.valid_rows(classified, EVENT_SCHEMA).select(
            "kafka_offset", F.unix_micros("event_time").alias("micros"), "year", "month", "day", "hour"
        )
        epoch = dt.datetime(1970, 1, 1, tzinfo=UTC)
        expected = spark.createDataFrame(
            [(i, (instant - epoch) // dt.timedelta(microseconds=1), *part) for i, (_, part, instant) in enumerate(TIME_CASES)],
            "kafka_offset long, micros long, year string, month string, day string, hour string",
        )
        assertDataFrameEqual(actual, expected)
    finally:
        spark.conf.set("spark.sql.session.timeZone", old)


def test_transforms_work_on_a_streaming_frame(spark):
    stream = spark.readStream.format("rate").option("rowsPerSecond", 1).load().select(
        F.col("value").cast("string").cast("binary").alias("value"),
        F.lit("t").alias("topic"), F.lit(0).alias("partition"), F.col("value").alias("offset"), F.col("timestamp"),
    )
    classified = transforms.classify(stream, EVENT_SCHEMA)
    assert transforms.valid_rows(classified, EVENT_SCHEMA).isStreaming
    assert transforms.dead_letter_rows(classified).isStreaming


def test_a_replacement_schema_drives_validation_and_output_columns(spark):
    from pyspark.sql.types import ArrayType, DoubleType, LongType, StringType, StructField, StructType, TimestampType

    schema = StructType([
        StructField("event_time", TimestampType(), False),
        StructField("count", LongType(), False),
        StructField("scores", ArrayType(DoubleType()), True),
        StructField("note", StringType(), True),
    ])
    values = [
        '{"event_time": "2024-05-01T10:00:00Z", "count": 3, "scores": [1, 2.5]}',
        '{"event_time": "2024-05-01T10:00:00Z", "count": 1.5}',
        '{"event_time": "2024-05-01T10:00:00Z", "count": 2, "scores": ["x"]}',
        '{"event_time": "2024-05-01T10:00:00Z"}',
    ]
    classified = transforms.classify(kafka_frame(spark, values), schema)
    valid = transforms.valid_rows(classified, schema)
    assert valid.columns == transforms.output_columns(schema)
    assertDataFrameEqual(valid.select("count", "scores", "note"),
                         spark.createDataFrame([(3, [1.0, 2.5], None)], "count long, scores array<double>, note string"))
    assertDataFrameEqual(
        transforms.dead_letter_rows(classified).select("kafka_offset", "error"),
        spark.createDataFrame([
            (1, "field 'count' must be bigint, got: 1.5"),
            (2, 'field \'scores\' must be array<double>, got: ["x"]'),
            (3, "required field 'count' is missing or null"),
        ], "kafka_offset long, error string"),
    )
