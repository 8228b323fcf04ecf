"""Transforms on small batch frames: valid rows, each kind of invalid record, partition columns, time zones."""
from __future__ import annotations

import datetime as dt
import json

import pytest
from pyspark.sql import functions as F
from pyspark.testing import assertDataFrameEqual

import oracle
import strategies
from hypothesis import strategies as st
from streaming_consumer import strict_json, transforms
from streaming_consumer.schemas import DEAD_LETTER_SCHEMA, EVENT_SCHEMA

UTC = dt.timezone.utc
KAFKA_TS = dt.datetime(2024, 5, 1, 12, 0, 0)


def kafka_frame(spark, values, topic="events"):
    """A frame shaped like the Kafka source: value as binary plus topic/partition/offset/timestamp.
    Values are text (sent as UTF-8) or bytes (sent as they are)."""
    rows = [
        (None if v is None else bytearray(v if isinstance(v, bytes) else v.encode("utf-8")), topic, 0, i, KAFKA_TS)
        for i, v in enumerate(values)
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
        ("hello", "value is not valid JSON at character 1 (an unquoted word hello; strings need double quotes and the only literals are true, false and null): ▶hello"),
        ("", "empty value"),
        ("  \n", "value holds only whitespace, no JSON value:   \\n"),
        ('{"event_id": "e-1", ', 'value is not valid JSON at character 21 (expecting property name enclosed in double quotes): {"event_id": "e-1", ▶'),
        ("[1, 2]", "value is a JSON array, not a JSON object: [1, 2]"),
        ('"just a string"', 'value is a JSON string, not a JSON object: "just a string"'),
        ("42", "value is a JSON number, not a JSON object: 42"),
        ("null", "value is JSON null, not a JSON object: null"),
        (None, "null value (tombstone)"),
        (ev(event_id=...), "event_id: required field is missing"),
        (ev(type=None), "type: required field is null"),
        (ev(event_id=..., type=...), "event_id: required field is missing\ntype: required field is missing"),
        (ev(event_time=...), "event_time: required field is missing"),
        (ev(amount="12.5"), 'amount: expected a number, got a string "12.5"'),
        (ev(amount="NaN"), 'amount: expected a number, got a string "NaN"'),
        (ev(amount=True), "amount: expected a number, got a boolean true"),
        (ev(attributes="a=b"), 'attributes: expected an object, got a string "a=b"'),
        (ev(event_id=42), "event_id: expected a string, got a number 42"),
        (ev(user_id=False), "user_id: expected a string, got a boolean false"),
        (ev(type={"k": 1}), 'type: expected a string, got an object {"k":1}'),
        (ev(type=["a"]), 'type: expected a string, got an array ["a"]'),
        (ev(event_time="yesterday"), 'event_time: expected an ISO-8601 timestamp like 2024-05-01T12:00:00Z, got a string "yesterday"'),
        (ev(event_time="2024-02-30T00:00:00Z"), 'event_time: "2024-02-30T00:00:00Z" is not a real date and time'),
        (ev(event_time="2024-05-01"), 'event_time: expected an ISO-8601 timestamp like 2024-05-01T12:00:00Z, got a string "2024-05-01"'),
        (ev(event_time=1714557600), "event_time: expected a string (an ISO-8601 timestamp), got a number 1714557600"),
        (ev(event_id=42, amount="x", event_time="soon"),
         'event_id: expected a string, got a number 42\namount: expected a number, got a string "x"\n'
         'event_time: expected an ISO-8601 timestamp like 2024-05-01T12:00:00Z, got a string "soon"'),
    ]


def test_each_kind_of_invalid_record_goes_to_dead_letter_with_an_actionable_reason(spark):
    # One frame for all cases (one Spark job, not one per case); rows are matched by offset.
    values = [v for v, _ in INVALID_CASES]
    classified = transforms.classify(kafka_frame(spark, values), EVENT_SCHEMA)
    expected = spark.createDataFrame(
        [(v, e, "events", 0, i, KAFKA_TS, None) for i, (v, e) in enumerate(INVALID_CASES)],
        "raw_value string, error string, kafka_topic string, kafka_partition int, kafka_offset long, "
        "kafka_timestamp timestamp, raw_bytes binary",
    )
    assertDataFrameEqual(transforms.dead_letter_rows(classified), expected)
    assert transforms.valid_rows(classified, EVENT_SCHEMA).count() == 0
    assert transforms.dead_letter_rows(classified).columns == [f.name for f in DEAD_LETTER_SCHEMA.fields]


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
            (1, "count: expected an integer, got a number 1.5"),
            (2, 'scores[0]: expected a number, got a string "x"'),
            (3, "count: required field is missing"),
        ], "kafka_offset long, error string"),
    )


# One of each class of value the consumer must refuse, with what the error's first line must say. The values
# Spark's own JSON reader accepts (single quotes, trailing data, a second value, invalid UTF-8, lone
# surrogates, repeated keys) are the point: before strict checking, several of them reached the output.
VALID = ev(user_id="u", amount=1.5, attributes={"a": "b"})
STRICT_CASES = [
    (VALID.replace('"', "'"), "(single quotes; JSON strings and names need double quotes)"),
    (VALID.replace('{"event_id"', '{event_id'), "(an unquoted name; JSON names need double quotes)"),
    (VALID.replace('{"event_id"', '{/* c */ "event_id"'), "(a comment; JSON has no comments)"),
    (VALID.replace('"amount": 1.5', '"amount": NaN'), "(NaN is not a JSON number; JSON has no NaN or Infinity)"),
    (VALID.replace('"amount": 1.5', '"amount": -Infinity'), "(-Infinity is not a JSON number"),
    (VALID.replace('"amount": 1.5', '"amount": 01.5'), "(a number with a leading zero)"),
    (VALID.replace('"u"', '"u\tv"'), "(a raw control character U+0009 inside a string"),
    (VALID.replace('"u"', '"u\u0000"'), "(a raw control character U+0000 inside a string"),
    (VALID + " trailing", "(data after the JSON value)"),
    (VALID + VALID, "(a second JSON value after the first; a record must hold exactly one)"),
    (VALID + "\n" + VALID, "(a second JSON value after the first"),
    (VALID + "}", "(data after the JSON value)"),
    (VALID + "\u00a0", "(data after the JSON value)"),
    ("\ufeff" + VALID, "value is not valid JSON: it starts with a byte order mark"),
    (VALID.replace('"u"', '"\\ud800"'), "user_id: a string holds an unpaired UTF-16 surrogate \\ud800"),
    (VALID.replace('"a": "b"', '"a": "b", "a": "c"'), 'attributes: key "a" appears more than once in one object'),
    (VALID.replace('"type": "click"', '"type": "click", "type": "view"'), 'value: key "type" appears more than once'),
    (VALID.replace('}', ', "x": {"y": 1, "y": 2}}', 1), 'x: key "y" appears more than once'),
    # Repeated names beside what could hide them from the fast path's colon count (escapes, colons in a map, nulls).
    (VALID.replace('"u"', '"u\\u003a"').replace('"type": "click"', '"type": "click", "type": "view"'), 'value: key "type" appears more than once'),
    (VALID.replace('"a": "b"', '"a": "b:c"').replace('"u"', '"u", "x": 1, "x": 2'), 'value: key "x" appears more than once'),
    (VALID.replace('"u"', 'null, "user_id": "u"'), 'value: key "user_id" appears more than once'),
    (VALID.replace('"amount": 1.5', '"amount": 1e400'), "amount: 1E+400 is out of range for a double"),
    (VALID.replace('"amount": 1.5', '"amount": ' + "1" * 1001), "value has a number of 1001 characters; at most 1000 are accepted"),
    (VALID.replace('"amount": 1.5', '"amount": 1.5, "x": ' + "[" * 600 + "]" * 600), "value nests objects and arrays more than 512 levels deep"),
    (VALID.encode()[:20] + b"\xff" + VALID.encode()[20:], "value is not valid UTF-8: byte 0xff at byte 21 (invalid start byte)"),
    (VALID.encode()[:20] + b"\xed\xa0\x80" + VALID.encode()[20:], "value is not valid UTF-8: byte 0xed at byte 21"),
    (VALID.encode()[:20] + b"\xc0\x80" + VALID.encode()[20:], "value is not valid UTF-8: byte 0xc0 at byte 21"),
    (VALID.encode()[:-1], "value is not valid JSON at character"),
    (None, "null value (tombstone)"),
    (b"", "empty value"),
]


def test_each_class_of_non_standard_json_goes_to_the_dead_letter_with_its_reason(spark):
    values = [v for v, _ in STRICT_CASES] + [VALID]
    classified = transforms.classify(kafka_frame(spark, values), EVENT_SCHEMA)
    dead = {r.kafka_offset: r for r in transforms.dead_letter_rows(classified).collect()}
    for i, (value, phrase) in enumerate(STRICT_CASES):
        assert i in dead, f"{value!r:.120} was not refused"
        assert phrase in dead[i].error.split("\n")[0], (value, dead[i].error)
    assert [r.kafka_offset for r in transforms.valid_rows(classified, EVENT_SCHEMA).collect()] == [len(STRICT_CASES)]


def _scan(spark, values):
    scan = transforms._jvm_function("StrictScan").column(transforms._scan_spec(transforms.field_specs(EVENT_SCHEMA)), F.col("value"))
    return [r.ok for r in kafka_frame(spark, values).select(scan.alias("ok"), "offset").orderBy("offset").collect()]


# What the JVM scan shows valid, and what it leaves to strict_json.py: every rule it checks, each on its own.
SCAN_SHOWN = [
    VALID,
    " \t\r\n" + VALID + "\n ",
    ev(extra={"nested": {"a": [1, {"b": None}]}, "b": 2}),  # nested objects outside the maps, names distinct per object
    ev(event_id="caf\u00e9 \U0001f600 \u20ac", type="\\ \" / \b \f \n \r \t", user_id=None),  # escapes, a surrogate pair
    json.dumps({"event_id": "caf\u00e9 \U0001f600 \u20ac \u2028", "event_time": "2024-05-01T10:15:00Z", "type": "t"},
               ensure_ascii=False),  # UTF-8 of 2, 3 and 4 bytes
    VALID.replace('"click"', '"a\\/b"'),
    ev(amount=-0.5e3, extra=[0, -0, 1e-7, 10, 2.5E+3, True, False, None, "s"], attributes={}),
    '{"event_id":"e","event_time":"2024-05-01T10:15:00Z","type":"t","x":{"type":1},"y":{"type":2}}',  # one name per object
]
SCAN_LEFT = [
    VALID + " x",  # data after the object
    VALID + "{}",  # a second value
    "\ufeff" + VALID,  # a byte order mark
    "[" + VALID + "]",  # not an object
    "", "   ", '{"event_id": "e"',  # empty, whitespace, unclosed
    VALID.replace('"e-1"', '"e\u0001"'),  # a raw control character
    VALID.replace('"type": "click"', '"type": "click", "type": "view"'),  # a repeated name at the top
    ev(attributes={"k": "v"}).replace('"k": "v"', '"k": "v", "k": "w"'),  # in a map
    ev(extra={"a": 1}).replace('"a": 1', '"a": 1, "a": 2'),  # in a nested object
    ev(extra=1).replace('"extra"', '"ext\\u0072a"'),  # a name with an escape (compared as bytes: not shown)
    VALID.replace('"click"', '"\\udc00\\ud800"'),  # a pair in the wrong order
    VALID.replace('"click"', '"\\ud800\\u0041"'),  # a high surrogate without its low half
    VALID.replace('"click"', '"\\ud800"'),  # a lone surrogate escape
    VALID.replace('"click"', '"\\x41"'),  # an invalid escape
    VALID.replace('"amount": 1.5', '"amount": 02.5'),  # a leading zero
    VALID.replace('"amount": 1.5', '"amount": 2.'),  # a fraction without digits
    VALID.replace('"amount": 1.5', '"amount": NaN'),
    VALID.replace('"amount": 1.5', '"amount": -'),
    VALID.replace('"amount": 1.5', '"amount": ' + "1" * 1001),  # a number beyond the length limit
    ev(extra=[]).replace("[]", "[" * 600 + "]" * 600),  # nesting beyond the depth limit
    VALID.replace('"click"', "'click'"),  # single quotes
    VALID.replace(', "type"', ' /* c */, "type"'),  # a comment
    VALID[:-1] + ",}",  # a trailing comma
    ev(event_id=5), ev(event_id={"a": "b"}), ev(event_time=["2024-05-01T10:15:00Z"]),  # string fields of another type
    ev(attributes="a=b"), ev(attributes=["a"]),  # a map field that is not an object
]
INVALID_UTF8 = [b"\xff", b"\xc0\xaf", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xe2\x82", b"\x80", b"\xf8\x88\x80\x80\x80"]


def test_the_jvm_scan_shows_valid_only_what_strict_json_accepts_and_leaves_the_rest_to_it(spark):
    utf8 = [VALID.encode().replace(b"e-1", b"e" + bad) for bad in INVALID_UTF8]
    values = SCAN_SHOWN + SCAN_LEFT + utf8
    assert _scan(spark, values) == [True] * len(SCAN_SHOWN) + [False] * (len(SCAN_LEFT) + len(utf8))
    # Shown valid is valid: strict_json.py (the slow path's exact check) accepts every one.
    specs = transforms.field_specs(EVENT_SCHEMA)
    assert [strict_json.check(v.encode(), specs).lines for v in SCAN_SHOWN] == [[]] * len(SCAN_SHOWN)


@st.composite
def _timestamp_like(draw) -> str:
    """Accepted ISO-8601 text, and text one edit away from it (a character changed, removed or added)."""
    text = draw(strategies.event_times())
    edit = draw(st.sampled_from(["none", "change", "remove", "add"]))
    at = draw(st.integers(0, len(text)))
    piece = draw(st.sampled_from(list("0123456789-:T Z+.x\u0660")))
    if edit == "change" and at < len(text):
        text = text[:at] + piece + text[at + 1:]
    elif edit == "remove":
        text = text[:at] + text[at + 1:]
    elif edit == "add":
        text = text[:at] + piece + text[at:]
    return text


TIMESTAMP_EDGES = ["2024-02-29T00:00:00Z", "2023-02-29T00:00:00Z", "1900-02-29T00:00Z", "2000-02-29T00:00Z",
                   "2024-04-31T00:00:00Z", "2024-13-01T00:00:00Z", "2024-00-10T00:00:00Z", "2024-05-00T00:00:00Z",
                   "2024-05-01T24:00:00Z", "2024-05-01T23:60:00Z", "2024-05-01T23:59:60Z", "2024-05-01T10:15:00+24",
                   "2024-05-01T10:15:00+23:60", "2024-05-01T10:15:00+2359", "2024-05-01T10:15:00+23:5",
                   "2024-05-01T10:15:00.1234567891Z", "2024-05-01T10:15:00.Z", "2024-05-01T10:15", "2024-05-01T10:1",
                   "2024-05-01T10:15:00ZZ", "2024-05-01t10:15:00Z", "2024-05-01T10:15:00z", "0000-01-01T00:00:00+23:59",
                   "0001-01-01T00:00:00+00:01", "9999-12-31T23:59:59.9999999-00:00", "10000-01-01T00:00:00Z", ""]


def test_the_jvm_timestamp_parse_agrees_with_the_sql_rules_on_every_text(spark):
    """IsoMicros gives the rows their timestamps, the SQL parse says why a text is refused: they must agree."""
    texts = TIMESTAMP_EDGES + strategies.collect(_timestamp_like(), 3000, strategies.run_seed())
    frame = spark.createDataFrame([(i, t) for i, t in enumerate(texts)], "i int, t string")
    rows = frame.select(
        "i", transforms._jvm_function("IsoMicros").column(F.col("t")).alias("jvm"),
        F.unix_micros(transforms.parse_iso_timestamp(F.col("t"))).alias("sql"),
    ).orderBy("i").collect()
    disagree = [(texts[r.i], r.jvm, r.sql) for r in rows if r.jvm != r.sql]
    assert not disagree, disagree[:20]
    assert sum(r.jvm is not None for r in rows) > len(rows) * 0.3  # both kinds are there in number
    assert sum(r.jvm is None for r in rows) > len(rows) * 0.2


def test_values_that_are_not_utf8_keep_their_exact_bytes_in_the_dead_letter(spark):
    value = b'{"event_id": "\xff", "event_time": "2024-05-01T00:00:00Z", "type": "t"}'
    row = transforms.dead_letter_rows(transforms.classify(kafka_frame(spark, [value, VALID]), EVENT_SCHEMA)).collect()
    assert len(row) == 1 and bytes(row[0].raw_bytes) == value
    assert row[0].raw_value == value.decode("utf-8", errors="replace")  # readable, and valid UTF-8 in Parquet


def test_a_long_value_shows_its_start_and_its_end_in_the_error(spark):
    long_value = ev(user_id="x" * 5000, amount="late fault at the end")
    not_json = ev(user_id="x" * 5000)[:-1] + ", oops}"
    errors, _ = errors_of(spark, [long_value, not_json])
    assert errors[0] == 'amount: expected a number, got a string "late fault at the end"'
    assert "oops" in errors[1] and "▶" in errors[1] and len(errors[1]) < 300, errors[1]
    whole, _ = errors_of(spark, ["[" + '"y", ' * 2000 + '"the end"]'])
    assert whole[0].startswith('value is a JSON array, not a JSON object: ["y", "y"') and '"the end"]' in whole[0]
    assert "characters)" in whole[0] and len(whole[0]) < 300


DATE_CASES = [
    # Before the Gregorian reform (1582) and before 1900, in offsets of every kind: the same instant back.
    ("0001-01-01T00:00:00Z", dt.datetime(1, 1, 1, tzinfo=UTC)),
    ("0001-01-01T05:30:00+05:30", dt.datetime(1, 1, 1, tzinfo=UTC)),
    ("0999-07-14 12:00-0330", dt.datetime(999, 7, 14, 15, 30, tzinfo=UTC)),
    ("1500-02-28T23:00:00-05:30", dt.datetime(1500, 3, 1, 4, 30, tzinfo=UTC)),
    ("1582-10-10T00:00:00+01", dt.datetime(1582, 10, 9, 23, 0, tzinfo=UTC)),
    ("1899-12-31T23:59:59.999999+23:59", dt.datetime(1899, 12, 31, 0, 0, 59, 999999, tzinfo=UTC)),
    ("1900-01-01T00:00:00-23:59", dt.datetime(1900, 1, 1, 23, 59, tzinfo=UTC)),
    ("1677-09-21T00:12:43.145224Z", dt.datetime(1677, 9, 21, 0, 12, 43, 145224, tzinfo=UTC)),
    ("2262-04-11T23:47:16.854775807Z", dt.datetime(2262, 4, 11, 23, 47, 16, 854775, tzinfo=UTC)),
    ("9999-12-31T23:59:59.999999Z", dt.datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)),
    ("9999-12-31T22:59:59-01:00", dt.datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)),
]
OUT_OF_RANGE = ["0000-12-31T23:59:59Z", "0001-01-01T00:30:00+01:00", "9999-12-31T23:30:00-01:00"]


@pytest.mark.parametrize("session_tz", ["UTC", "America/Los_Angeles", "Asia/Kolkata"])
def test_every_representable_date_is_kept_as_the_same_instant_and_others_are_refused(spark, session_tz):
    old = spark.conf.get("spark.sql.session.timeZone")
    spark.conf.set("spark.sql.session.timeZone", session_tz)
    try:
        values = [ev(event_time=t) for t, _ in DATE_CASES] + [ev(event_time=t) for t in OUT_OF_RANGE]
        classified = transforms.classify(kafka_frame(spark, values), EVENT_SCHEMA)
        got = {r.kafka_offset: (r.micros, r.year, r.month, r.day, r.hour) for r in transforms.valid_rows(classified, EVENT_SCHEMA).select(
            "kafka_offset", F.unix_micros("event_time").alias("micros"), "year", "month", "day", "hour").collect()}
        for i, (_, instant) in enumerate(DATE_CASES):
            assert got[i] == (oracle.micros(instant), f"{instant.year:04d}", f"{instant.month:02d}", f"{instant.day:02d}", f"{instant.hour:02d}")
        errors = {r.kafka_offset: r.error for r in transforms.dead_letter_rows(classified).collect()}
        assert sorted(errors) == list(range(len(DATE_CASES), len(values)))
        assert all("is outside the years 0001-9999 (UTC)" in e for e in errors.values()), errors
    finally:
        spark.conf.set("spark.sql.session.timeZone", old)


def _outcome(classified):
    out = {r.kafka_offset: {
        "event_id": r.event_id, "type": r.type, "user_id": r.user_id, "amount": r.amount, "attributes": r.attributes,
        "micros": r.micros, "partition": (r.year, r.month, r.day, r.hour),
    } for r in transforms.valid_rows(classified, EVENT_SCHEMA).withColumn("micros", F.unix_micros("event_time")).drop("event_time").collect()}
    dead = {r.kafka_offset: {"error": r.error} for r in transforms.dead_letter_rows(classified).collect()}
    return out, dead


GENERATED = 3000


def test_generated_values_land_exactly_where_the_independent_oracle_says(spark):
    """Thousands of generated valid, near-valid and random values in one frame: each must be in exactly the
    output or the dead letter the oracle (tests/oracle.py: Python's json in strict mode) predicts, with the
    right fields, and the same whether or not the JVM fast path decided it."""
    run_seed = strategies.run_seed()
    print(f"HYPOTHESIS_SEED={run_seed}")
    values = strategies.collect(strategies.all_values, GENERATED, run_seed)
    assert len(values) > GENERATED * 0.9
    classified = transforms.classify(kafka_frame(spark, values), EVENT_SCHEMA)
    out, dead = _outcome(classified)
    problems = oracle.check_rows(values, out, dead)
    assert not problems, f"{len(problems)} disagreements (HYPOTHESIS_SEED={run_seed}):\n" + "\n".join(problems[:15])
    valid = sum(oracle.expect(v).valid for v in values)
    assert valid > GENERATED * 0.3 and len(dead) > GENERATED * 0.3, (valid, len(dead))


def test_the_fast_path_and_python_agree_and_plain_events_never_reach_python(spark, monkeypatch):
    values = strategies.collect(strategies.all_values, 1000, strategies.run_seed())
    frame = kafka_frame(spark, values)
    with_fast_path = _outcome(transforms.classify(frame, EVENT_SCHEMA))
    monkeypatch.setattr(transforms, "_fast_path_steps", lambda specs: [("withColumn", (transforms._FAST, F.lit(False)))])
    transforms._prepare_steps.cache_clear()  # steps are built once per schema: build them again with the patch
    python_only = _outcome(transforms.classify(frame, EVENT_SCHEMA))
    monkeypatch.undo()
    transforms._prepare_steps.cache_clear()
    assert with_fast_path == python_only
    plain = [json.dumps(valid_event) for valid_event in (
        {"event_id": "e-1", "event_time": "2024-05-01T10:00:00Z", "type": "view", "user_id": "12345", "amount": 3,
         "attributes": {"campaign": "x", "n": 1}},
        {"event_id": "caf\u00e9 \ud83d\ude00", "event_time": "2024-05-01 10:00+05:30", "type": "t"},
    )]
    fast = [r[transforms._FAST] for r in transforms.prepare(kafka_frame(spark, plain), EVENT_SCHEMA).collect()]
    assert fast == [True, True]


def test_a_value_python_accepts_but_spark_cannot_read_still_goes_to_the_dead_letter(spark, monkeypatch):
    from pyspark.sql.types import DateType, StructField, StructType, TimestampType

    schema = StructType([StructField("event_time", TimestampType(), False), StructField("day", DateType(), True)])
    monkeypatch.setattr(transforms, "_slow_check", lambda s: F.udf(lambda raw: (True, [], [], True), transforms._PY_TYPE))
    classified = transforms.classify(kafka_frame(spark, ['{"event_time": "2024-05-01T00:00:00Z", "day": "not a date"}']), schema)
    [row] = transforms.dead_letter_rows(classified).collect()
    assert row.error.startswith("value: valid JSON, but Spark's JSON reader cannot read it with the schema")
