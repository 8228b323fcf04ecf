"""Pure DataFrame -> DataFrame functions. They work on streaming and batch frames alike: no actions.

Validation runs as Spark SQL expressions, not Python UDFs, so executors need no Python and each record
costs one JSON parse when it is valid. The extra parses that name *why* a record is invalid run only
for records already known to be invalid (or, for string fields, suspicious), inside CASE WHEN branches.
"""
from __future__ import annotations

from typing import Iterable

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import (
    ArrayType,
    BooleanType,
    DoubleType,
    MapType,
    StringType,
    StructField,
    StructType,
    TimestampType,
)

from .schemas import DEAD_LETTER_SCHEMA, KAFKA_COLUMNS, PARTITION_COLUMNS

CORRUPT = "_corrupt_record"
_PARSE_OPTIONS = {
    "mode": "PERMISSIVE",
    "columnNameOfCorruptRecord": CORRUPT,
    # NaN/Infinity are not JSON; without this Spark also accepts the *strings* "NaN" etc. as doubles.
    "allowNonNumericNumbers": "false",
}
# JSON literals that a string field may have been captured from; only these need a token-kind probe,
# because Spark's JSON reader turns any token into text for a string field.
_NUMBER_RE = r"^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$"
_ISO_RE = r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}(:?\d{2})?)?$"
_HAS_ZONE_RE = r"(Z|[+-]\d{2}(:?\d{2})?)$"
_MICROS_PER_DAY = 86_400_000_000
_MICROS_PER_HOUR = 3_600_000_000
_RAW_SNIPPET = 80


def _is_textual(field: StructField) -> bool:
    return isinstance(field.dataType, (StringType, TimestampType))


def _read_schema(schema: StructType, with_corrupt: bool = True) -> StructType:
    """The schema Spark's JSON reader gets: timestamps as text (parsed here, zone-independently)."""
    fields = [
        StructField(f.name, StringType() if isinstance(f.dataType, TimestampType) else f.dataType, True)
        for f in schema.fields
    ]
    if with_corrupt:
        fields.append(StructField(CORRUPT, StringType(), True))
    return StructType(fields)


def _all_as(schema: StructType, data_type, names: Iterable[str] | None = None) -> StructType:
    keep = set(names) if names is not None else {f.name for f in schema.fields}
    fields = [StructField(f.name, data_type, True) for f in schema.fields if f.name in keep]
    return StructType(fields + [StructField(CORRUPT, StringType(), True)])


def parse_iso_timestamp(text: Column) -> Column:
    """ISO-8601 text -> timestamp, or null when it is not one.

    Accepts `YYYY-MM-DD[T ]hh:mm[:ss[.fraction]]` with `Z`, `±hh`, `±hhmm` or `±hh:mm`. Text without an
    offset is taken as UTC, never as the session time zone, so the result does not depend on where the
    job runs. Impossible dates (Feb 30, hour 25) are null.
    """
    with_seconds = F.regexp_replace(text, r"^(\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2})(?=$|[Z+-])", "$1:00")
    zoned = F.when(with_seconds.rlike(_HAS_ZONE_RE), with_seconds).otherwise(F.concat(with_seconds, F.lit("Z")))
    return F.when(text.rlike(_ISO_RE), zoned.cast(TimestampType()))


def add_partition_columns(df: DataFrame, ts_column: str = "event_time") -> DataFrame:
    """year/month/day/hour of `ts_column` in UTC, as zero-padded strings (year=2024/month=05/...).

    Integer arithmetic on epoch microseconds, so the session time zone cannot shift a row into another
    folder, and a re-run batch writes every row to the same partition as the first attempt.
    """
    micros = F.unix_micros(F.col(ts_column))
    rem = F.pmod(micros, F.lit(_MICROS_PER_DAY))
    day = F.date_from_unix_date(((micros - rem) / F.lit(_MICROS_PER_DAY)).cast("int"))
    hour = (rem / F.lit(_MICROS_PER_HOUR)).cast("int")
    return (
        df.withColumn("year", F.lpad(F.year(day).cast("string"), 4, "0"))
        .withColumn("month", F.lpad(F.month(day).cast("string"), 2, "0"))
        .withColumn("day", F.lpad(F.dayofmonth(day).cast("string"), 2, "0"))
        .withColumn("hour", F.lpad(hour.cast("string"), 2, "0"))
    )


def _snippet(c: Column) -> Column:
    return F.when(F.length(c) > _RAW_SNIPPET, F.concat(F.substring(c, 1, _RAW_SNIPPET), F.lit("…"))).otherwise(c)


def _json_kind_of_non_object(raw: Column) -> Column:
    """What a non-object JSON value is ("array", "number", ...), or null when it is not JSON at all."""
    # Wrapping in [...] makes any single JSON value a one-element array; garbage or two values do not.
    n = F.size(F.from_json(F.concat(F.lit("["), raw, F.lit("]")), ArrayType(StringType())))
    first = F.substring(F.ltrim(raw), 1, 1)
    kind = (
        F.when(first == "[", "array")
        .when(first == '"', "string")
        .when(first.isin("t", "f"), "boolean")
        .when(first == "n", "null")
        .otherwise("number")
    )
    return F.when(n == 1, kind)


def classify(df: DataFrame, schema: StructType) -> DataFrame:
    """Kafka source rows -> the same rows with `raw_value`, `error` (null when valid) and `record`.

    `record` is the parsed struct with the declared types (timestamps parsed); `error` says, for a person,
    everything that is wrong with an invalid record: not JSON, not an object, required fields missing or
    null, values of the wrong type, unparseable timestamps.
    """
    raw = F.col("value").cast("string")
    df = df.withColumn("raw_value", raw)
    raw = F.col("raw_value")
    typed = F.from_json(raw, _read_schema(schema), _PARSE_OPTIONS)
    df = df.withColumn("_typed", typed)
    t = F.col("_typed")
    starts_with_brace = F.ltrim(raw).startswith("{")
    # The capture parse reads every field as text; it only fails on malformed JSON. Needed only to
    # tell a type error (which field?) from malformed JSON, so only for rows whose typed parse failed.
    capture = F.when(
        t[CORRUPT].isNotNull() & starts_with_brace,
        F.from_json(raw, _all_as(schema, StringType()), _PARSE_OPTIONS),
    )
    df = df.withColumn("_capture", capture)
    cap = F.col("_capture")

    string_fields = [f.name for f in schema.fields if isinstance(f.dataType, StringType)]
    # Token-kind probes for string fields: a probe type that accepts only numbers / booleans /
    # objects / arrays, parsed only when some string field's text looks like such a literal.
    probes = {}
    if string_fields:
        looks = {
            "number": lambda c: c.rlike(_NUMBER_RE),
            "boolean": lambda c: c.isin("true", "false"),
            "object": lambda c: c.startswith("{"),
            "array": lambda c: c.startswith("["),
        }
        probe_types = {
            "number": DoubleType(),
            "boolean": BooleanType(),
            "object": MapType(StringType(), StringType()),
            "array": ArrayType(StringType()),
        }
        for kind, pred in looks.items():
            suspicious = F.lit(False)
            for name in string_fields:
                suspicious = suspicious | F.coalesce(pred(t[name]), F.lit(False))
            col_name = f"_probe_{kind}"
            df = df.withColumn(
                col_name,
                F.when(suspicious, F.from_json(raw, _all_as(schema, probe_types[kind], string_fields), _PARSE_OPTIONS)),
            )
            probes[kind] = F.col(col_name)

    problems = []
    required = [f.name for f in schema.fields if not f.nullable]
    for f in schema.fields:
        name = f.name
        present = t[name].isNotNull() | F.coalesce(cap[name].isNotNull(), F.lit(False))
        if f.name in required:
            problems.append(F.when(~present, F.lit(f"required field '{name}' is missing or null")))
        if isinstance(f.dataType, StringType):
            for kind, probe in probes.items():
                problems.append(
                    F.when(
                        probe[name].isNotNull(),
                        F.concat(F.lit(f"field '{name}' must be a string, got a JSON {kind}: "), _snippet(t[name])),
                    )
                )
        elif isinstance(f.dataType, TimestampType):
            problems.append(
                F.when(
                    t[name].isNotNull() & parse_iso_timestamp(t[name]).isNull(),
                    F.concat(
                        F.lit(f"field '{name}' must be an ISO-8601 timestamp like 2024-05-01T12:00:00Z, got: "),
                        _snippet(t[name]),
                    ),
                )
            )
        else:
            problems.append(
                F.when(
                    t[name].isNull() & cap[name].isNotNull(),
                    F.concat(
                        F.lit(f"field '{name}' must be {f.dataType.simpleString()}, got: "), _snippet(cap[name])
                    ),
                )
            )

    not_object_kind = _json_kind_of_non_object(raw)
    error = (
        F.when(F.col("value").isNull(), F.lit("record has no value (null, e.g. a tombstone); expected a JSON object"))
        .when(
            ~starts_with_brace,
            F.when(
                not_object_kind.isNotNull(),
                F.concat(F.lit("value is a JSON "), not_object_kind, F.lit(", not a JSON object")),
            ).otherwise(F.concat(F.lit("value is not valid JSON: "), _snippet(raw))),
        )
        .when(cap[CORRUPT].isNotNull() | t.isNull(), F.concat(F.lit("value is not valid JSON: "), _snippet(raw)))
        .otherwise(
            F.coalesce(
                F.nullif(F.concat_ws("; ", *problems), F.lit("")),
                # The typed parse failed yet no rule above named a field: still never pass it as valid.
                F.when(t[CORRUPT].isNotNull(), F.concat(F.lit("value does not match the schema: "), _snippet(raw))),
            )
        )
    )
    record = F.struct(
        *[
            (parse_iso_timestamp(t[f.name]) if isinstance(f.dataType, TimestampType) else t[f.name]).alias(f.name)
            for f in schema.fields
        ]
    )
    return df.withColumn("error", error).withColumn("record", record)


def kafka_columns(df: DataFrame) -> list[Column]:
    """The Kafka source's metadata columns, renamed to what the sinks carry."""
    return [
        F.col("topic").alias("kafka_topic"),
        F.col("partition").alias("kafka_partition"),
        F.col("offset").alias("kafka_offset"),
        F.col("timestamp").alias("kafka_timestamp"),
    ]


def valid_rows(classified: DataFrame, schema: StructType) -> DataFrame:
    """Valid records: the schema's fields, the four kafka columns, then year/month/day/hour."""
    valid = classified.where(F.col("error").isNull()).select(
        *[F.col("record")[f.name].alias(f.name) for f in schema.fields], *kafka_columns(classified)
    )
    ts_field = next((f.name for f in schema.fields if f.name == "event_time"), None)
    if ts_field is None:
        raise ValueError("schema has no 'event_time' field; the output is partitioned by it")
    return add_partition_columns(valid, ts_field)


def dead_letter_rows(classified: DataFrame) -> DataFrame:
    """Invalid records: raw_value, error and the four kafka columns (DEAD_LETTER_SCHEMA order)."""
    return classified.where(F.col("error").isNotNull()).select(
        "raw_value", "error", *kafka_columns(classified)
    )


def output_columns(schema: StructType) -> list[str]:
    return [f.name for f in schema.fields] + [f.name for f in KAFKA_COLUMNS.fields] + list(PARTITION_COLUMNS)


def dead_letter_columns() -> list[str]:
    return [f.name for f in DEAD_LETTER_SCHEMA.fields]
